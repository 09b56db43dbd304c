"""Field errors and the format checks every validator shares.

In Kubernetes a validation failure is a `field.Error`: a type (Required, Invalid,
NotSupported, ...), a field path (`spec.template.spec.containers[0].image`), the bad
value and a detail. `ErrorBody()` renders it as the text kubectl prints after the
path: `Invalid value: -1: must be greater than or equal to 0`. The bad value is
printed the way Go's fmt prints it: numbers plain, strings quoted, maps as
`map[string]string{"app":"x"}`, structs as `intstr.IntOrString{Type:0, ...}`.

Here each constructor returns a `Cause` (minik8s.api.errors) whose `message` is that
rendered body, so a Status from minik8s reads like one from kube-apiserver. The
format checks (`is_dns1123_label`, `is_qualified_name`, ...) return lists of
messages exactly as k8s.io/apimachinery/pkg/util/validation does, and the
`validate_*` helpers turn them into causes at a path.

Pitfall: a Go `%q` string and a JSON string differ only for exotic characters;
json.dumps is close enough for the values manifests carry.
"""
from __future__ import annotations

import ipaddress
import json
import re

from .errors import Cause

OMIT = object()  # "do not print the value" (secrets): `Invalid value: <detail>`


class GoValue:
    """A value already rendered in Go syntax (structs, pointers) for an error body."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


def go_repr(value) -> str:
    """Render a bad value as Go's fmt does in field.Error.ErrorBody."""
    if value is None:
        return "null"
    if isinstance(value, GoValue):
        return value.text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        items = ", ".join(f"{json.dumps(str(k))}:{go_repr(v)}" for k, v in sorted(value.items()))
        if all(isinstance(v, str) for v in value.values()):
            return "map[string]string{" + items + "}"
        return "map[string]interface {}{" + items + "}"
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, str) for v in value):
            return "[]string{" + ", ".join(json.dumps(v) for v in value) + "}"
        return "[]interface {}{" + ", ".join(go_repr(v) for v in value) + "}"
    return repr(value)


def _body(kind: str, value, detail: str) -> str:
    text = kind if value is OMIT else f"{kind}: {go_repr(value)}"
    return f"{text}: {detail}" if detail else text


# --- the constructors, one per field.ErrorType ----------------------------------

def required(path: str, detail: str = "") -> Cause:
    text = f"Required value: {detail}" if detail else "Required value"
    return Cause(path, "FieldValueRequired", text)


def invalid(path: str, value, detail: str = "") -> Cause:
    return Cause(path, "FieldValueInvalid", _body("Invalid value", value, detail))


def type_invalid(path: str, value, detail: str) -> Cause:
    return Cause(path, "FieldValueTypeInvalid", _body("Invalid value", value, detail))


def not_supported(path: str, value, valid) -> Cause:
    detail = "supported values: " + ", ".join(json.dumps(v) for v in valid) if valid else ""
    return Cause(path, "FieldValueNotSupported", _body("Unsupported value", value, detail))


def duplicate(path: str, value) -> Cause:
    return Cause(path, "FieldValueDuplicate", _body("Duplicate value", value, ""))


def forbidden(path: str, detail: str) -> Cause:
    return Cause(path, "FieldValueForbidden", f"Forbidden: {detail}" if detail else "Forbidden")


def too_long(path: str, max_bytes: int) -> Cause:
    return Cause(path, "FieldValueTooLong", f"Too long: must have at most {max_bytes} bytes")


def not_found(path: str, value) -> Cause:
    return Cause(path, "FieldValueNotFound", _body("Not found", value, ""))


def immutable(path: str, value) -> Cause:
    """apivalidation.ValidateImmutableField."""
    return invalid(path, value, "field is immutable")


# --- format checks (k8s.io/apimachinery/pkg/util/validation) --------------------

def regex_error(msg: str, fmt: str, *examples: str) -> str:
    """RegexError. Note Kubernetes' own double space: "(e.g. 'my-name',  or '123-abc', ..."."""
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    ex = "".join((" or " if i else "") + f"'{e}', " for i, e in enumerate(examples))
    return f"{msg} (e.g. {ex}regex used for validation is '{fmt}')"


def max_len_error(n: int) -> str:
    return f"must be no more than {n} characters"


EMPTY_ERROR = "must be non-empty"
NEGATIVE = "must be greater than or equal to 0"

DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN_FMT = DNS1123_LABEL_FMT + r"(\." + DNS1123_LABEL_FMT + ")*"
DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
LABEL_VALUE_FMT = "(" + QUALIFIED_NAME_FMT + ")?"
CONFIG_KEY_FMT = "[-._a-zA-Z0-9]+"
PERCENT_FMT = "[0-9]+%"

_LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters "
              "or '-', and must start and end with an alphanumeric character")
_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                  "characters, '-' or '.', and must start and end with an alphanumeric character")
_DNS1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
                "start with an alphabetic character, and end with an alphanumeric character")
_QUALIFIED_MSG = ("must consist of alphanumeric characters, '-', '_' or '.', and must start "
                  "and end with an alphanumeric character")
_LABEL_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric "
                    "characters, '-', '_' or '.', and must start and end with an alphanumeric "
                    "character")


def _full(fmt: str) -> re.Pattern:
    return re.compile("^" + fmt + r"\Z")


_RE = {f: _full(f) for f in (DNS1123_LABEL_FMT, DNS1123_SUBDOMAIN_FMT, DNS1035_LABEL_FMT,
                             QUALIFIED_NAME_FMT, LABEL_VALUE_FMT, CONFIG_KEY_FMT, PERCENT_FMT)}


def is_dns1123_label(v: str) -> list:
    errs = [max_len_error(63)] if len(v) > 63 else []
    if not _RE[DNS1123_LABEL_FMT].match(v):
        errs.append(regex_error(_LABEL_MSG, DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errs


def is_dns1123_subdomain(v: str) -> list:
    errs = [max_len_error(253)] if len(v) > 253 else []
    if not _RE[DNS1123_SUBDOMAIN_FMT].match(v):
        errs.append(regex_error(_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


def is_dns1035_label(v: str) -> list:
    errs = [max_len_error(63)] if len(v) > 63 else []
    if not _RE[DNS1035_LABEL_FMT].match(v):
        errs.append(regex_error(_DNS1035_MSG, DNS1035_LABEL_FMT, "my-name", "abc-123"))
    return errs


def is_qualified_name(v: str) -> list:
    """Label keys, annotation keys, finalizers: `[prefix/]name`."""
    errs = []
    parts = v.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part " + EMPTY_ERROR)
        else:
            errs += ["prefix part " + m for m in is_dns1123_subdomain(prefix)]
    else:
        return ["a qualified name " + regex_error(_QUALIFIED_MSG, QUALIFIED_NAME_FMT, "MyName",
                                                  "my.name", "123-abc")
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    if not name:
        errs.append("name part " + EMPTY_ERROR)
    elif len(name) > 63:
        errs.append("name part " + max_len_error(63))
    if not _RE[QUALIFIED_NAME_FMT].match(name):
        errs.append("name part " + regex_error(_QUALIFIED_MSG, QUALIFIED_NAME_FMT, "MyName",
                                               "my.name", "123-abc"))
    return errs


def is_valid_label_value(v: str) -> list:
    errs = [max_len_error(63)] if len(v) > 63 else []
    if not _RE[LABEL_VALUE_FMT].match(v):
        errs.append(regex_error(_LABEL_VALUE_MSG, LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


def is_valid_port_num(n) -> list:
    return [] if 1 <= n <= 65535 else ["must be between 1 and 65535, inclusive"]


def is_valid_port_name(v: str) -> list:
    """IANA_SVC_NAME: container port names, named targetPorts."""
    errs = [max_len_error(15)] if len(v) > 15 else []
    if not re.fullmatch(r"[-a-z0-9]+", v):
        errs.append("must contain only alphanumeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search(r"[a-z]", v):
        errs.append("must contain at least one letter (a-z)")
    if "--" in v:
        errs.append("must not contain consecutive hyphens")
    if v and (v[0] == "-" or v[-1] == "-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def is_config_map_key(v: str) -> list:
    errs = [max_len_error(253)] if len(v) > 253 else []
    if not _RE[CONFIG_KEY_FMT].match(v):
        errs.append(regex_error("a valid config key must consist of alphanumeric characters, "
                                "'-', '_' or '.'", CONFIG_KEY_FMT, "key.name", "KEY_NAME",
                                "key-name"))
    if v == ".":
        errs.append("must not be '.'")
    elif v == "..":
        errs.append("must not be '..'")
    elif v.startswith(".."):
        errs.append("must not start with '..'")
    return errs


def is_valid_percent(v: str) -> list:
    if _RE[PERCENT_FMT].match(v):
        return []
    return [regex_error("a valid percent string must be a numeric string followed by an "
                        "ending '%'", PERCENT_FMT, "1%", "93%")]


def is_env_var_name(v: str) -> list:
    """RelaxedEnvironmentVariableValidation (beta, on by default in 1.32)."""
    if v and all(" " <= ch <= "~" and ch != "=" for ch in v):
        return []
    return ["a valid environment variable name must consist only of printable ASCII "
            "characters other than '='"]


def is_path_segment_name(v: str) -> list:
    """RBAC and HPA names only need to be usable as one URL path segment."""
    if v in (".", ".."):
        return [f"may not be '{v}'"]
    return [f"may not contain '{c}'" for c in "/%" if c in v]


def is_valid_ip(v: str) -> list:
    try:
        ipaddress.ip_address(v)
        return []
    except ValueError:
        return ["must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"]


# --- field-level validators ----------------------------------------------------

def check(path: str, value, msgs: list) -> list:
    """One Invalid cause per message, all at `path` with `value` (the usual pattern)."""
    return [invalid(path, value, m) for m in msgs]


def is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def int_field(value, path: str, causes: list) -> bool:
    """True if `value` is an integer; otherwise record a type error. JSON decoding in
    kube-apiserver would reject such a body outright; we report it at its field."""
    if is_int(value):
        return True
    causes.append(type_invalid(path, value, "must be of type integer"))
    return False


def validate_nonnegative(value, path: str) -> list:
    causes: list = []
    if value is not None and int_field(value, path, causes) and value < 0:
        causes.append(invalid(path, value, NEGATIVE))
    return causes


def validate_positive(value, path: str) -> list:
    causes: list = []
    if value is not None and int_field(value, path, causes) and value <= 0:
        causes.append(invalid(path, value, "must be greater than 0"))
    return causes


def validate_port_num_or_name(port, path: str) -> list:
    """ValidatePortNumOrName: targetPort, probe ports."""
    if is_int(port):
        return check(path, port, is_valid_port_num(port))
    if port is None:
        return check(path, 0, is_valid_port_num(0))   # an unset intstr is the int 0
    if isinstance(port, str):
        return check(path, port, is_valid_port_name(port))
    return [invalid(path, port, "must contain an int or string")]
