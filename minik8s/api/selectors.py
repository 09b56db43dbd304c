"""Label and field selectors: how Kubernetes picks a set of objects.

In Kubernetes a *label selector* is how a ReplicaSet finds its pods, a Service its
endpoints and `kubectl get -l` its rows. It has two spellings that mean the same thing:
the string form of `k8s.io/apimachinery/pkg/labels` (`app=web,tier in (a,b),!canary`)
and the `LabelSelector` object of the API (`matchLabels` + `matchExpressions`). Both
become one list of requirements, ANDed, sorted by key; this module does the same.

Field selectors (`spec.nodeName=node-1`) live in `fields.py`, as in Kubernetes' own
`fields` package, and are re-exported here so one import serves both.

Semantics worth a student's attention (all as in Kubernetes):
- `!=` and `notin` match objects that do not have the label at all; `=` and `in` don't.
- An empty selector (`""`, `{}`) matches everything; a *nil* selector (`None`) matches
  nothing. A controller with `selector: null` must not adopt every pod in the namespace.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import BadRequest
from .fields import (FieldRequirement, FieldSelector, SUPPORTED_FIELDS,  # noqa: F401 (re-exported)
                     check_field_selector, field_value, parse_field_selector)

# ---------------------------------------------------------------- validation
# k8s.io/apimachinery/pkg/util/validation: the messages are Kubernetes' own, including
# the double space in "'MyName',  or" that their RegexError helper produces.
_QNAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QNAME = re.compile(f"^{_QNAME_FMT}$")
_DNS1123_FMT = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_DNS1123 = re.compile(f"^{_DNS1123_FMT}$")
_QNAME_MSG = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and "
              "end with an alphanumeric character")
_VALUE_MSG = "a valid label must be an empty string or consist of alphanumeric characters, " \
             "'-', '_' or '.', and must start and end with an alphanumeric character"
_DNS_MSG = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric " \
           "characters, '-' or '.', and must start and end with an alphanumeric character"


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    eg = " or ".join(f"'{e}', " for e in examples)
    return f"{msg} (e.g. {eg}regex used for validation is '{fmt}')"


def label_key_errors(key: str) -> list:
    """IsQualifiedName: an optional DNS-1123 subdomain prefix, '/', a name of <= 63."""
    errs, parts = [], key.split("/")
    if len(parts) > 2:
        return ["a qualified name " + _regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc")
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            if len(prefix) > 253:
                errs.append("prefix part must be no more than 253 characters")
            if not _DNS1123.match(prefix):
                errs.append("prefix part " + _regex_error(_DNS_MSG, _DNS1123_FMT, "example.com"))
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part must be no more than 63 characters")
    if not _QNAME.match(name):
        errs.append("name part " + _regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc"))
    return errs


def label_value_errors(value: str) -> list:
    """IsValidLabelValue: empty, or <= 63 characters of the qualified-name alphabet."""
    errs = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if value and not _QNAME.match(value):
        errs.append(_regex_error(_VALUE_MSG, f"({_QNAME_FMT})?", "MyValue", "my_value", "12345"))
    return errs


def _quote(s: str) -> str:
    """Go's %q for ordinary strings."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _invalid(path: str, value: str, detail: str) -> str:
    """field.Invalid(...).Error(): `<path>: Invalid value: "<value>": <detail>`."""
    return f"{path}: Invalid value: {value}: {detail}"


# ---------------------------------------------------------------- label selectors
# selection.Operator spellings, as Kubernetes stores them in a Requirement.
EQUALS, DOUBLE_EQUALS, NOT_EQUALS = "=", "==", "!="
IN, NOT_IN, EXISTS, DOES_NOT_EXIST, GT, LT = "in", "notin", "exists", "!", "gt", "lt"
_BINARY = (IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS, GT, LT)


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str
    values: tuple = ()

    def matches(self, labels: dict) -> bool:
        has = self.key in labels
        if self.op in (IN, EQUALS, DOUBLE_EQUALS):
            return has and labels[self.key] in self.values
        if self.op in (NOT_IN, NOT_EQUALS):
            return not has or labels[self.key] not in self.values
        if self.op == EXISTS:
            return has
        if self.op == DOES_NOT_EXIST:
            return not has
        # gt / lt compare integers; a non-integer label value never matches
        have = parse_int64(labels.get(self.key))
        want = parse_int64(self.values[0]) if self.values else None
        if have is None or want is None:
            return False
        return have > want if self.op == GT else have < want

    def __str__(self) -> str:
        if self.op == EXISTS:
            return self.key
        if self.op == DOES_NOT_EXIST:
            return "!" + self.key
        values = ",".join(sorted(self.values))
        if self.op in (IN, NOT_IN):
            return f"{self.key} {self.op} ({values})"
        return self.key + {GT: ">", LT: "<"}.get(self.op, self.op) + values


@dataclass(frozen=True)
class Selector:
    """Requirements ANDed together, sorted by key. `nothing` marks the nil selector."""
    requirements: tuple = ()
    nothing: bool = False

    def matches(self, labels: dict | None) -> bool:
        if self.nothing:
            return False
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    @property
    def empty(self) -> bool:
        """True when it selects everything (Kubernetes' Selector.Empty)."""
        return not self.nothing and not self.requirements

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


EVERYTHING = Selector()
NOTHING = Selector(nothing=True)


# What NewRequirement demands of each operator's values, and its complaint otherwise.
_ARITY = {IN: (lambda n: n > 0, "for 'in', 'notin' operators, values set can't be empty"),
          EQUALS: (lambda n: n == 1, "exact-match compatibility requires one single value"),
          EXISTS: (lambda n: n == 0, "values set must be empty for exists and does not exist"),
          GT: (lambda n: n == 1, "for 'Gt', 'Lt' operators, exactly one value is required")}
_ARITY.update({NOT_IN: _ARITY[IN], DOUBLE_EQUALS: _ARITY[EQUALS], NOT_EQUALS: _ARITY[EQUALS],
               DOES_NOT_EXIST: _ARITY[EXISTS], LT: _ARITY[GT]})


def new_requirement(key: str, op: str, values) -> Requirement:
    """labels.NewRequirement: validate the key, the operator's arity and every value."""
    values, errs = tuple(values), []
    if label_key_errors(key):
        errs.append(_invalid("key", _quote(key), "; ".join(label_key_errors(key))))
    if op not in _ARITY:
        ops = ", ".join(_quote(o) for o in _ARITY)
        errs.append(f"operator: Unsupported value: {_quote(op)}: supported values: {ops}")
    elif not _ARITY[op][0](len(values)):
        errs.append(_invalid("values", _go_list(values), _ARITY[op][1]))
    for i, v in enumerate(values):
        if op in (GT, LT) and not re.fullmatch(r"[+-]?[0-9]+", v):
            errs.append(_invalid(f"values[{i}]", _quote(v),
                                 "for 'Gt', 'Lt' operators, the value must be an integer"))
        errs += [_invalid(f"values[{i}][{key}]", _quote(v), e) for e in label_value_errors(v)]
    if errs:
        raise BadRequest(_aggregate(errs))
    return Requirement(key, op, values)


def _go_list(values) -> str:
    return "[]string{" + ", ".join(_quote(v) for v in values) + "}" if values else "[]string(nil)"


def _aggregate(msgs: list) -> str:
    """utilerrors.Aggregate: one message alone, several as `[a, b]` (duplicates dropped)."""
    msgs = list(dict.fromkeys(msgs))
    return msgs[0] if len(msgs) == 1 else "[" + ", ".join(msgs) + "]"


# The string form is parsed like labels.Parse: a lexer, then a recursive descent that
# reads a key first and only then decides which operator follows. The error messages
# are Kubernetes' own (kubectl users paste them into search engines).
_TOKEN = re.compile(r"[ \t\r\n]*(?:(!=|==|[=!(),<>])|([^ \t\r\n=!(),<>]+)|$)")
_OPS = {"!": "NOT", ">": GT, "<": LT, "in": IN, "notin": NOT_IN}
_ID, _END = "ID", "END"


def _lex(s: str) -> list:
    items, pos = [], 0
    while True:
        m = _TOKEN.match(s, pos)
        pos = m.end()
        if m.group(1):
            items.append((_OPS.get(m.group(1), m.group(1)), m.group(1)))
        elif m.group(2):  # a word; `in` and `notin` are keywords (see _Parser._as)
            items.append((_OPS[m.group(2)] if m.group(2) in ("in", "notin") else _ID, m.group(2)))
        else:
            return items + [(_END, "")]


class _Parser:
    def __init__(self, s: str):
        self.items, self.pos = _lex(s), 0

    def peek(self, values: bool = True):
        return self._as(self.items[self.pos], values)

    def take(self, values: bool = True):
        self.pos += 1
        return self._as(self.items[self.pos - 1], values)

    @staticmethod
    def _as(item, values):
        # Where a value may stand, `in` and `notin` are ordinary words: `x in (in)`.
        return (_ID, item[1]) if values and item[0] in (IN, NOT_IN) else item

    def parse(self) -> list:
        reqs = []
        while True:
            tok, lit = self.peek()
            if tok == _END:
                return reqs
            if tok not in (_ID, "NOT"):
                raise BadRequest(f"found '{lit}', expected: !, identifier, or 'end of string'")
            try:
                reqs.append(self.requirement())
            except BadRequest as e:
                raise BadRequest(f"unable to parse requirement: {e.message}") from None
            tok, lit = self.take()
            if tok == _END:
                return reqs
            if tok != ",":
                raise BadRequest(f"found '{lit}', expected: ',' or 'end of string'")
            if self.peek()[0] not in (_ID, "NOT"):
                raise BadRequest(f"found '{self.peek()[1]}', expected: identifier after ','")

    def requirement(self) -> Requirement:
        tok, key = self.take()
        op = DOES_NOT_EXIST if tok == "NOT" else ""
        if op:
            tok, key = self.take()
        if tok != _ID:
            raise BadRequest(f"found '{key}', expected: identifier")
        if label_key_errors(key):
            raise BadRequest(_invalid("<nil>", _quote(key), "; ".join(label_key_errors(key))))
        if self.peek()[0] in (_END, ","):
            op = op or EXISTS
        if op:  # `key` or `!key` (a `!key` followed by more fails in parse(), as in Kubernetes)
            return new_requirement(key, op, ())
        tok, lit = self.take(values=False)
        if tok not in _BINARY:
            raise BadRequest(f"found '{lit}', expected: {', '.join(_BINARY)}")
        values = self.value_set() if tok in (IN, NOT_IN) else self.exact_value()
        return new_requirement(key, tok, sorted(values))

    def value_set(self) -> set:
        tok, lit = self.take()
        if tok != "(":
            raise BadRequest(f"found '{lit}' expected: '('")
        tok, lit = self.peek()
        if tok not in (_ID, ",", ")"):
            raise BadRequest(f"found '{lit}', expected: ',', ')' or identifier")
        values = set() if tok != ")" else {""}
        while tok != ")":  # comma-separated words; an empty word is the value ""
            tok, lit = self.take()
            if tok not in (_ID, ","):
                raise BadRequest(f"found '{lit}', expected: ',', or identifier")
            nxt, nlit = self.peek()
            if tok == _ID and nxt not in (",", ")"):
                raise BadRequest(f"found '{nlit}', expected: ',' or ')'")
            if tok == _ID:
                values.add(lit)
            elif not values or nxt in (",", ")"):
                values.add("")
            tok = nxt
        self.take()
        return values

    def exact_value(self) -> set:
        if self.peek()[0] in (_END, ","):
            return {""}
        tok, lit = self.take()
        if tok != _ID:
            raise BadRequest(f"found '{lit}', expected: identifier")
        return {lit}


def parse_label_selector(s: str) -> Selector:
    """labels.Parse: `a=b,c!=d,e in (x,y),!f` -> Selector. Raises BadRequest."""
    reqs = _Parser(s or "").parse()
    return Selector(tuple(sorted(reqs, key=lambda r: r.key)))


_DICT_OPS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}


def selector_from_dict(d: dict | None) -> Selector:
    """metav1.LabelSelectorAsSelector: None -> matches nothing, {} -> everything."""
    if d is None:
        return NOTHING
    match_labels = d.get("matchLabels") or {}
    exprs = d.get("matchExpressions") or []
    reqs = [new_requirement(k, EQUALS, (v,)) for k, v in match_labels.items()]
    for e in exprs:
        op = _DICT_OPS.get(e.get("operator"))
        if op is None:
            operator = _quote(str(e.get("operator", "")))
            raise BadRequest(f"{operator} is not a valid label selector operator")
        reqs.append(new_requirement(e.get("key", ""), op, e.get("values") or ()))
    return Selector(tuple(sorted(reqs, key=lambda r: r.key)))


def selector_from_set(labels: dict | None) -> Selector:
    """labels.SelectorFromSet (a Service's or a nodeSelector's plain map); empty -> everything."""
    return Selector(tuple(Requirement(k, EQUALS, (v,)) for k, v in sorted((labels or {}).items())))


def matches_labels(selector: dict | None, labels: dict | None) -> bool:
    return selector_from_dict(selector).matches(labels or {})


def format_label_selector(d: dict | None) -> str:
    """metav1.FormatLabelSelector: the SELECTOR column; `<none>` when empty or nil."""
    try:
        s = str(selector_from_dict(d))
    except BadRequest:
        return "<error>"
    return s or "<none>"


def format_labels(labels: dict | None) -> str:
    """labels.FormatLabels: `a=b,c=d` sorted by key, `<none>` when empty."""
    return ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items())) or "<none>"


_INT64 = re.compile(r"[+-]?[0-9]+")


def parse_int64(s) -> int | None:
    """Go's strconv.ParseInt(s, 10, 64): None unless a base-10 int64. Stricter than
    int(): no spaces, no underscores ("1_0" is a valid label value, not a number)."""
    if not isinstance(s, str) or not _INT64.fullmatch(s):
        return None
    n = int(s)
    return n if -2**63 <= n < 2**63 else None
