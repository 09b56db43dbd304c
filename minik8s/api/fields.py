"""Field selectors: filtering objects on a few of their own fields.

In Kubernetes (`k8s.io/apimachinery/pkg/fields`) a field selector such as
`spec.nodeName=node-1` or `status.phase!=Running` filters a list or a watch on fields
of the object itself, where a label selector filters on its labels. The kubelet watches
`spec.nodeName=<its node>`, `kubectl describe` finds a pod's events with
`involvedObject.uid=...`, and `kubectl delete --wait` watches `metadata.name=<name>`.

Only `=`, `==` and `!=` exist, terms are ANDed, and a value may escape `,` `=` `\\` with
a backslash. Each kind accepts only the fields Kubernetes registered for it; any other
field is a 400 BadRequest with Kubernetes' message. A missing field compares as "", so
`spec.nodeName=` selects the pods no scheduler has bound yet.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import BadRequest

EQUALS, NOT_EQUALS = "=", "!="


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    op: str        # "=" or "!=" ("==" is read as "=")
    value: str

    def matches(self, obj: dict) -> bool:
        return (field_value(obj, self.field) == self.value) == (self.op == EQUALS)

    def __str__(self) -> str:
        return f"{self.field}{self.op}{self.value}"


@dataclass(frozen=True)
class FieldSelector:
    requirements: tuple = ()

    def matches(self, obj: dict) -> bool:
        return all(r.matches(obj) for r in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements

    def requires_exact_match(self, field: str) -> str | None:
        """The value `field=value` pins, if any (lets a server use an index)."""
        return next((r.value for r in self.requirements if r.field == field and r.op == EQUALS), None)

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


def _split_unescaped(s: str, sep: str) -> list:
    parts, start, slash = [], 0, False
    for i, c in enumerate(s):
        if slash:
            slash = False
        elif c == "\\":
            slash = True
        elif c == sep:
            parts.append(s[start:i])
            start = i + 1
    return parts + [s[start:]]


def _unescape(value: str) -> str:
    """fields.UnescapeValue: `\\,` `\\=` `\\\\` are escapes; a bare `,` or `=` is an error."""
    out, slash = [], False
    for c in value:
        if slash:
            if c not in "\\,=":
                raise BadRequest(f"invalid field selector: invalid escape sequence: \\{c}")
            out.append(c)
            slash = False
        elif c == "\\":
            slash = True
        elif c in ",=":
            # Go prints the rune with %v, i.e. its code point: `... in value: 61`.
            raise BadRequest(f"invalid field selector: unescaped character in value: {ord(c)}")
        else:
            out.append(c)
    if slash:
        raise BadRequest("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def parse_field_selector(s: str) -> FieldSelector:
    """fields.ParseSelector: `a=b,c!=d`; terms are sorted like Kubernetes sorts them."""
    reqs = []
    for part in sorted(_split_unescaped(s, ",")) if s else []:
        if not part:
            continue
        # The first operator found from the left wins; "!=" and "==" before "=".
        m = re.search(r"!=|==|=", part)
        if m is None:
            raise BadRequest(f"invalid selector: '{s}'; can't understand '{part}'")
        op = NOT_EQUALS if m.group() == NOT_EQUALS else EQUALS
        reqs.append(FieldRequirement(part[:m.start()], op, _unescape(part[m.end():])))
    return FieldSelector(tuple(reqs))


def _podip(o):
    ips = (o.get("status") or {}).get("podIPs") or []
    return ips[0].get("ip", "") if ips else (o.get("status") or {}).get("podIP", "")


# Fields whose selectable value is not simply "the value at that path" (the registries'
# ToSelectableFields functions): defaults for unset booleans/counters, renamed fields.
_SPECIAL_FIELDS = {
    "spec.hostNetwork": lambda o: bool((o.get("spec") or {}).get("hostNetwork", False)),
    "spec.unschedulable": lambda o: bool((o.get("spec") or {}).get("unschedulable", False)),
    "spec.host": lambda o: (o.get("spec") or {}).get("nodeName", ""),
    "status.podIP": _podip,
    "status.replicas": lambda o: int((o.get("status") or {}).get("replicas") or 0),
    "status.successful": lambda o: int((o.get("status") or {}).get("succeeded") or 0),
    "source": lambda o: (o.get("source") or {}).get("component") or o.get("reportingComponent", ""),
}


def field_value(obj: dict, field: str) -> str:
    """The string a field selector compares: missing -> "", booleans -> "true"/"false"."""
    if field in _SPECIAL_FIELDS:
        v = _SPECIAL_FIELDS[field](obj)
    else:
        v = obj
        for part in field.split("."):
            v = v.get(part) if isinstance(v, dict) else None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float, str)):
        return str(v)
    return ""  # missing, null, or a list/map: not a selectable value


# Which fields each kind accepts, and the error each answers with (the field-label
# conversion functions registered in pkg/apis/*/v1/conversion.go). Kinds without one
# get apimachinery's DefaultMetaV1FieldSelectorConversion. Note Node and Namespace
# do not accept metadata.namespace, and apps/v1 ReplicaSet only the two defaults.
_META = ("metadata.name", "metadata.namespace")
_INVOLVED = tuple("involvedObject." + f for f in
                  ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"))
SUPPORTED_FIELDS = {
    "Pod": _META + ("spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                    "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP",
                    "status.podIPs", "status.nominatedNodeName", "spec.host"),
    "Node": ("metadata.name", "spec.unschedulable"),
    "Event": _META + _INVOLVED + ("reason", "reportingComponent", "source", "type"),
    "Namespace": ("metadata.name", "status.phase"),
    "Secret": _META + ("type",),
    "Service": _META + ("spec.clusterIP", "spec.type"),
    "Job": _META + ("status.successful",),
}


def check_field_selector(kind: str, fs: FieldSelector) -> FieldSelector:
    """Reject fields `kind` cannot be selected on (400 BadRequest, Kubernetes' message).

    Returns the selector with legacy names rewritten (`spec.host` -> `spec.nodeName`)."""
    allowed = SUPPORTED_FIELDS.get(kind, _META)
    out = []
    for r in fs.requirements:
        if r.field not in allowed:
            if kind == "Job":
                raise BadRequest(f'field label "{r.field}" not supported for batchv1.Job')
            if kind in SUPPORTED_FIELDS:
                raise BadRequest(f"field label not supported: {r.field}")
            raise BadRequest(f'"{r.field}" is not a known field selector: only '
                             '"metadata.name", "metadata.namespace"')
        field = "spec.nodeName" if (kind, r.field) == ("Pod", "spec.host") else r.field
        out.append(FieldRequirement(field, r.op, r.value))
    return FieldSelector(tuple(out))
