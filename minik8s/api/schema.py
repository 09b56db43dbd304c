"""API schemas: the shape of every kind, in a tiny DSL, served as OpenAPI v3.

In Kubernetes the Go structs of k8s.io/api *are* the schema: the API server decodes
a request into them (so an unknown field is dropped, or rejected with
`fieldValidation=Strict`), and it publishes them as OpenAPI, which `kubectl explain`
reads. minik8s keeps objects as plain dicts, so the schema is written down here
instead, one type at a time, in a form that reads like `kubectl explain` itself:

    define(CORE + "ContainerPort", "A network port a container listens on.", '''
        containerPort!  integer   Port number inside the container.
        protocol        string    TCP (the default), UDP or SCTP.
    ''')

Each line is `fieldName[!] type description` (a long description may go on the next
line instead); `!` marks a required field. Types:
`string`, `integer`, `boolean`, `number`, `byte` (base64 text), `Quantity`,
`IntOrString`, `Time`, `MicroTime`, `object` (anything: never checked), `[T]` (a
list), `map[T]` (string keys), or the short name of another defined type. A type
defined with `open=True` is not checked inside (x-kubernetes-preserve-unknown-fields):
we use that where we knowingly do not list every field, so a real manifest is never
rejected for a field we left out.

Field names and types are Kubernetes' (k8s.io/api v1.32); the descriptions are ours.
This module holds the DSL, the apimachinery types every kind shares (ObjectMeta,
LabelSelector, ...), and the schema walks: `unknown_fields` and `prune`. The kinds
live in schema_core.py (core/v1), schema_kinds.py (apps, batch) and schema_other.py;
the pod template in schema_pod.py, schema_scheduling.py, schema_security.py,
schema_volumes.py and schema_pod_status.py. Import schema_kinds to load them all.
"""
from __future__ import annotations

import copy

META = "io.k8s.apimachinery.pkg.apis.meta.v1."
CORE = "io.k8s.api.core.v1."
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
REF = "#/components/schemas/"

SCHEMAS: dict = {}        # full name -> OpenAPI schema (refs unresolved: short names)
_SHORT: dict = {}         # short name ("Container") -> full name
_KINDS: dict = {}         # (group, version, kind) -> full name

_PRIMITIVE = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "boolean": {"type": "boolean"},
    "number": {"type": "number"},
    "byte": {"type": "string", "format": "byte"},
    "object": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
}


def package(group: str, version: str) -> str:
    """The Go package prefix Kubernetes names schemas by: apps/v1 -> io.k8s.api.apps.v1."""
    return f"io.k8s.api.{group.split('.')[0] or 'core'}.{version}."


def define(name: str, description: str, fields: str = "", *, open: bool = False,
           gvk: tuple | None = None) -> str:
    """Add the type `name` (full name) to SCHEMAS; returns the name."""
    short = name.rsplit(".", 1)[1]
    if _SHORT.get(short, name) != name:
        raise ValueError(f"two types named {short}: {_SHORT[short]} and {name}")
    _SHORT[short] = name
    schema = {"description": description, "type": "object"}
    props, required = {}, []
    lines = list(filter(str.strip, fields.splitlines()))
    while lines:
        field, typ, *text = lines.pop(0).split(None, 2)
        if not text:                      # a long `name type`: the description follows
            text = [lines.pop(0)]
        if field.endswith("!"):
            field = field[:-1]
            required.append(field)
        props[field] = dict(_type(typ), description=text[0].strip())
    if props:
        schema["properties"] = props
    if required:
        schema["required"] = required
    if open:
        schema["x-kubernetes-preserve-unknown-fields"] = True
    if gvk:
        group, version, kind = gvk
        schema["x-kubernetes-group-version-kind"] = [
            {"group": group, "kind": kind, "version": version}]
        _KINDS[gvk] = name
    SCHEMAS[name] = schema
    return name


def kind(group: str, version: str, kind_name: str, description: str, fields: str) -> str:
    """A top-level kind: apiVersion, kind and metadata come first, as in every object."""
    head = ("apiVersion string Versioned schema of this object, e.g. apps/v1.\n"
            "kind string The object's type, e.g. Deployment (CamelCase).\n"
            "metadata ObjectMeta Name, namespace, labels and the rest of the standard "
            "metadata.\n")
    return define(package(group, version) + kind_name, description, head + fields,
                  gvk=(group, version, kind_name))


def _type(expr: str) -> dict:
    """One DSL type expression -> an OpenAPI schema fragment (refs by short name)."""
    if expr.startswith("[") and expr.endswith("]"):
        return {"type": "array", "items": _type(expr[1:-1])}
    if expr.startswith("map[") and expr.endswith("]"):
        return {"type": "object", "additionalProperties": _type(expr[4:-1])}
    if expr in _PRIMITIVE:
        return dict(_PRIMITIVE[expr])
    if not expr[:1].isupper():
        raise ValueError(f"unknown type {expr!r}")
    return {"allOf": [{"$ref": expr}]}       # resolved to a full name in `resolved`


# --- lookups -------------------------------------------------------------------------

def for_kind(group: str, version: str, kind_name: str) -> str | None:
    """The schema name of a top-level kind, or None when we have no schema for it."""
    return _KINDS.get((group, version, kind_name))


def resolved(name: str) -> dict:
    """The schema `name` as OpenAPI serves it: `$ref`s are full component paths."""
    return _resolve_refs(SCHEMAS[name])


def _resolve_refs(node):
    if isinstance(node, dict):
        out = {k: _resolve_refs(v) for k, v in node.items()}
        if "$ref" in out and not out["$ref"].startswith(REF):
            out["$ref"] = REF + _SHORT[node["$ref"]]
        return out
    if isinstance(node, list):
        return [_resolve_refs(v) for v in node]
    return node


def closure(names) -> list:
    """`names` plus every type they reference, transitively (a GV document needs them all)."""
    seen, todo = [], list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.append(name)
        todo.extend(_SHORT[r] for r in _refs(SCHEMAS[name]))
    return sorted(seen)


def _refs(node):
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for v in node.values():
            yield from _refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from _refs(v)


def _target(schema: dict) -> dict:
    """Follow `allOf: [{$ref}]` to the referenced type's schema."""
    while "allOf" in schema:
        schema = SCHEMAS[_SHORT[schema["allOf"][0]["$ref"]]]
    if "$ref" in schema:
        schema = SCHEMAS[_SHORT[schema["$ref"]]]
    return schema


# --- schema walks ---------------------------------------------------------------------

def unknown_fields(name: str, obj, *, directives: bool = False) -> list:
    """Dotted paths of the fields of `obj` that type `name` does not have, in document
    order: `spec.bogus`, `spec.template.spec.containers[0].imagee`. What Kubernetes'
    strict decoder reports. Values of the wrong type are validation's business, not
    this walk's: it only looks inside objects and lists where the schema has them.
    `directives=True` reads `obj` as a patch: keys starting with `$` ($patch,
    $setElementOrder/containers, $retainKeys, ...) are instructions, not fields, and a
    field set to null is being deleted, so it is no unknown field of the result."""
    found = []
    _walk(SCHEMAS[name], obj, "", found, False, directives)
    return found


def prune(name: str, obj, *, directives: bool = False):
    """A copy of `obj` without the fields type `name` does not have: what decoding
    into Go structs does silently with `fieldValidation=Ignore` (or Warn)."""
    obj = copy.deepcopy(obj)
    _walk(SCHEMAS[name], obj, "", [], True, directives)
    return obj


def _walk(schema: dict, value, path: str, found: list, prune: bool, directives: bool):
    schema = _target(schema)
    if value is None or schema.get("x-kubernetes-preserve-unknown-fields"):
        return
    if isinstance(value, dict):
        props = schema.get("properties")
        if props is not None:
            for key in list(value):
                sub = f"{path}.{key}" if path else key
                if key in props:
                    _walk(props[key], value[key], sub, found, prune, directives)
                elif directives and (key.startswith("$") or value[key] is None):
                    continue    # a patch: `$...` are directives, `key: null` deletes
                else:
                    found.append(sub)
                    if prune:
                        del value[key]
        elif isinstance(schema.get("additionalProperties"), dict):
            for key, item in value.items():
                _walk(schema["additionalProperties"], item, f"{path}.{key}" if path else key,
                      found, prune, directives)
    elif isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            _walk(schema["items"], item, f"{path}[{i}]", found, prune, directives)


# --- the apimachinery types every kind shares -----------------------------------------

define(QUANTITY, "A resource amount: a number with an optional suffix (100m, 1.5, 128Mi, 2G).")
SCHEMAS[QUANTITY].pop("type")
SCHEMAS[QUANTITY]["oneOf"] = [{"type": "string"}, {"type": "number"}]

define(INT_OR_STRING, "Either an integer or a string (a port name, a percentage like 25%).")
SCHEMAS[INT_OR_STRING].pop("type")
SCHEMAS[INT_OR_STRING].update(format="int-or-string",
                              oneOf=[{"type": "integer"}, {"type": "string"}])

for _name, _text in (("Time", "A point in time, RFC 3339 in UTC with seconds: "
                              "2025-01-01T10:00:00Z."),
                     ("MicroTime", "A point in time with microseconds, RFC 3339 in UTC.")):
    define(META + _name, _text)
    SCHEMAS[META + _name].update(type="string", format="date-time")

define(META + "ObjectMeta", "Metadata every persisted object has.", """
    name                        string
        Unique name in the namespace (per kind); cannot change.
    generateName                string
        Prefix the server completes with a random suffix when name is empty.
    namespace                   string
        The namespace the object lives in; empty for cluster-scoped kinds.
    selfLink                    string
        Legacy link to the object; no longer filled in.
    uid                         string
        Unique id the server assigns at creation; never reused.
    resourceVersion             string
        Opaque version for concurrency control and watches; set by the server.
    generation                  integer
        Counts changes to the desired state (spec); set by the server.
    creationTimestamp           Time
        When the object was created; set by the server.
    deletionTimestamp           Time
        When graceful deletion was requested; set by the server.
    deletionGracePeriodSeconds  integer
        Seconds left for graceful deletion; set by the server.
    labels                      map[string]
        Key/value pairs that selectors match on.
    annotations                 map[string]
        Key/value pairs for tools and people; not selectable.
    ownerReferences             [OwnerReference]
        Objects this one depends on (for garbage collection).
    finalizers                  [string]
        Keys that must be removed before the object is deleted.
    managedFields               [ManagedFieldsEntry]
        Which manager set which fields (server-side apply).
""")

define(META + "OwnerReference", "Points at the object that owns this one.", """
    apiVersion!         string   API version of the owner.
    kind!               string   Kind of the owner.
    name!               string   Name of the owner.
    uid!                string   UID of the owner.
    controller          boolean  True when the owner is the managing controller (at most one).
    blockOwnerDeletion  boolean  With foreground deletion, the owner waits for this object to go.
""")

define(META + "ManagedFieldsEntry", "One field manager's record of the fields it set.", """
    manager      string  Name of the client that set the fields.
    operation    string  Apply or Update.
    apiVersion   string  Version the fields were set in.
    time         Time    When the manager last changed them.
    fieldsType   string  Format of fieldsV1; always FieldsV1.
    fieldsV1     object  The set of fields, as a nested map.
    subresource  string  Subresource the fields were set through, if any.
""")

define(META + "LabelSelector", "Selects objects by labels; all the terms must match (AND).", """
    matchLabels       map[string]                 Labels that must have exactly these values.
    matchExpressions  [LabelSelectorRequirement]  Set-based terms: In, NotIn, Exists, DoesNotExist.
""")

define(META + "LabelSelectorRequirement", "One set-based term of a label selector.", """
    key!       string    The label key.
    operator!  string    In, NotIn, Exists or DoesNotExist.
    values     [string]  Values for In/NotIn; must be empty for Exists/DoesNotExist.
""")

define(META + "Condition", "One aspect of an object's current state (standard shape).", """
    type!                string   Condition type in CamelCase, e.g. Ready.
    status!              string   True, False or Unknown.
    observedGeneration   integer  The metadata.generation the condition was computed from.
    lastTransitionTime!  Time     When status last changed.
    reason!              string   One-word CamelCase reason for the last transition.
    message!             string   Human-readable details.
""")
