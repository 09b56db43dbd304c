"""OpenAPI v3 and server-side field validation.

kube-apiserver publishes its types as OpenAPI v3: `GET /openapi/v3` lists one document
per group-version, and `GET /openapi/v3/apis/apps/v1?hash=...` is that document. kubectl
reads it for two things (contract §3.3):

- `apply/create/replace -f` look for the PATCH operation of the object's kind; when it
  declares the `fieldValidation` query parameter, kubectl leaves validation to the
  server and sends `?fieldValidation=Strict` (its default `--validate=strict`).
- `kubectl explain` walks `components.schemas`, from the schema whose
  `x-kubernetes-group-version-kind` matches, through `allOf: [{$ref}]` links.

The schemas come from minik8s.api.schema (a DSL; one module per API area). A kind we
have no schema for (a custom resource) gets an open one: everything is accepted.

Field validation is the other half: Kubernetes decodes a request into Go structs, so
a field the type does not have is dropped (`Ignore`), dropped with a warning (`Warn`),
or makes the request fail with 400 BadRequest (`Strict`):

    Deployment in version "v1" cannot be handled as a Deployment: strict decoding error:
    unknown field "spec.bogus", unknown field "spec.template.spec.containers[0].imagee"

`validate_fields` does it for one write, the way the request's `fieldValidation` asks
(Kubernetes' default, when a client sends none, is Warn); `unknown_fields`,
`strict_message` and `prune_unknown` are its parts. A patch that brings unknown fields
fails Strict with 422 Invalid on the field `patch`, not 400: kube-apiserver finds them
while decoding the patched object, in its patch handler.

Pitfall: the PATCH operations must NOT list `application/strategic-merge-patch+json`
in a requestBody: kubectl would then compute apply's patch from our schemas, which lack
the patch-merge-key extensions; without it kubectl uses its compiled-in types (exact).
"""
from __future__ import annotations

import hashlib
import json
import threading

from minik8s.api import errors, schema
from minik8s.api import schema_kinds  # noqa: F401  (loads every schema)
from minik8s.api.registry import REGISTRY

_lock = threading.Lock()
_cache: dict = {}          # tuple(registry types) -> {gv path: document}; static per registry


def document(registry, segments: list):
    """`GET /openapi/v3[/<gv>]`: the root index ([]), a GV document, or None (404)."""
    docs = _documents(registry)
    if not segments:
        return {"paths": {gv: {"serverRelativeURL": f"/openapi/v3/{gv}?hash={_hash(doc)}"}
                          for gv, doc in docs.items()}}
    return docs.get("/".join(segments))


def _documents(registry) -> dict:
    key = tuple(registry.all())
    with _lock:
        docs = _cache.get(key)
    if docs is None:
        docs = {}
        for rt in registry.all():
            docs.setdefault(_gv_path(rt), []).append(rt)
        docs = {gv: _gv_document(gv, kinds) for gv, kinds in docs.items()}
        with _lock:
            if len(_cache) > 16:          # registries are few; do not grow without bound
                _cache.clear()
            _cache[key] = docs
    return docs


def _hash(doc: dict) -> str:
    # kubectl caches documents by URL: the hash must change whenever the document does.
    return hashlib.sha512(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:32].upper()


def _gv_path(rt) -> str:
    return f"apis/{rt.group}/{rt.version}" if rt.group else "api/v1"


def _gv_document(gv: str, kinds: list) -> dict:
    paths, names, extra = {}, [], {}
    for rt in kinds:
        name = schema.for_kind(rt.group, rt.version, rt.kind)
        if name is None:
            name = _open_kind_name(rt)
            extra[name] = _open_kind_schema(rt)
        else:
            names.append(name)
        if "scale" in rt.subresources:
            names.append(schema.for_kind("autoscaling", "v1", "Scale"))
        ns = "namespaces/{namespace}/" if rt.namespaced else ""
        paths[f"/{gv}/{ns}{rt.plural}/{{name}}"] = {"patch": _patch_operation(rt, name)}
    schemas = {n: schema.resolved(n) for n in schema.closure(names)}
    schemas.update(extra)
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.4"},
            "paths": paths, "components": {"schemas": schemas}}


def _patch_operation(rt, schema_name: str) -> dict:
    scope = "Namespaced" if rt.namespaced else ""
    return {
        "description": f"partially update the specified {rt.kind}",
        "operationId": f"patch{_camel(rt.group)}{rt.version.capitalize()}{scope}{rt.kind}",
        "parameters": [
            {"name": "dryRun", "in": "query", "schema": {"type": "string"},
             "description": "All: run every stage of the request but persist nothing."},
            {"name": "fieldManager", "in": "query", "schema": {"type": "string"},
             "description": "Name of the actor making the change."},
            {"name": "fieldValidation", "in": "query", "schema": {"type": "string"},
             "description": "Ignore, Warn or Strict: what to do with unknown or "
                            "duplicate fields in the request."},
            {"name": "force", "in": "query", "schema": {"type": "boolean"},
             "description": "Apply requests only: take over conflicting fields."},
        ],
        "responses": {"200": {"description": "OK", "content": {"application/json": {
            "schema": {"$ref": schema.REF + schema_name}}}}},
        "x-kubernetes-action": "patch",
        "x-kubernetes-group-version-kind": {"group": rt.group, "version": rt.version,
                                            "kind": rt.kind},
    }


def _camel(group: str) -> str:
    return "".join(p.capitalize() for p in (group or "core").split(".")[:1])


def _open_kind_name(rt) -> str:
    # What Kubernetes calls a custom resource's schema: the group reversed, then version.
    return ".".join(reversed(rt.group.split("."))) + f".{rt.version}.{rt.kind}"


def _open_kind_schema(rt) -> dict:
    return {"description": f"{rt.kind} (no schema is known: every field is accepted).",
            "type": "object", "x-kubernetes-preserve-unknown-fields": True,
            "properties": {
                "apiVersion": {"type": "string", "description": "Versioned schema."},
                "kind": {"type": "string", "description": "The object's type."},
                "metadata": {"allOf": [{"$ref": schema.REF + schema.META + "ObjectMeta"}],
                             "description": "Standard object metadata."}},
            "x-kubernetes-group-version-kind": [
                {"group": rt.group, "kind": rt.kind, "version": rt.version}]}


# --- field validation ---------------------------------------------------------------------

def validate_fields(req, body, directive: str = ""):
    """Field validation of one write, as kube-apiserver does it -> (body without unknown
    fields, warnings). `directive` is the request's fieldValidation: Strict raises, Warn
    returns one warning per dropped field, Ignore drops them silently; empty means Warn
    (Kubernetes' default). A strategic-merge or merge patch is checked as the partial
    object it is (`$` directives are not fields): the stored object has no unknown
    fields, so the patched result has exactly the patch's. JSON patches pass unchecked."""
    patch_type = req.patch_type if req.verb == "patch" else ""
    name = _schema_for(req.resource, req.group, body)
    if name is None or not isinstance(body, dict) or patch_type == "json":
        return body, []
    directives = patch_type in ("strategic", "merge")
    problems = schema.unknown_fields(name, body, directives=directives)
    if not problems:
        return body, []
    if directive == "Strict":
        if directives:
            raise strict_patch_error(body, problems)
        raise errors.BadRequest(strict_message(req, body, problems))
    warnings = [] if directive == "Ignore" else [f'unknown field "{p}"' for p in problems]
    return schema.prune(name, body, directives=directives), warnings


def _schema_for(resource: str, group, body) -> str | None:
    """The schema a request body decodes into: its own apiVersion/kind when it names them
    (a /scale body is a Scale), else the resource's kind. None: no schema, accept all."""
    if isinstance(body, dict) and body.get("kind") and body.get("apiVersion"):
        g, _, v = str(body["apiVersion"]).rpartition("/")
        return schema.for_kind(g, v, str(body["kind"]))
    try:
        rt = REGISTRY.by_resource(resource, group)
    except errors.NotFound:    # a custom resource (registered on the server only): open
        return None
    return schema.for_kind(rt.group, rt.version, rt.kind)


def unknown_fields(resource: str, group, body) -> list:
    """Dotted paths of the fields in `body` its kind does not have, in document order.
    Open types (labels, annotations, ConfigMap data, preserve-unknown-fields) never count."""
    name = _schema_for(resource, group, body)
    if name is None or not isinstance(body, dict):
        return []
    return schema.unknown_fields(name, body)


def prune_unknown(resource: str, group, body):
    """A copy of `body` without its unknown fields: what decoding into Go structs does
    with fieldValidation Ignore and Warn."""
    name = _schema_for(resource, group, body)
    if name is None or not isinstance(body, dict):
        return body
    return schema.prune(name, body)


def strict_message(req, body, problems) -> str:
    """The text of kube-apiserver's 400 BadRequest for a Strict create or update (or a
    server-side apply, whose schema check words it differently)."""
    kind, api_version = _kind_of(req, body)
    if req.verb == "patch" and req.patch_type == "apply":
        where = f"{req.namespace}/{req.name}" if req.namespace else req.name
        group, _, version = api_version.rpartition("/")
        errs = [f".{p}: field not declared in schema" for p in problems]
        text = errs[0] if len(errs) == 1 else "errors:\n  " + "\n  ".join(errs)
        return (f"failed to create typed patch object ({where}; {group}/{version}, "
                f"Kind={kind}): {text}")
    version = api_version.rpartition("/")[2]
    return (f'{kind} in version "{version}" cannot be handled as a {kind}: strict decoding '
            "error: " + ", ".join(f'unknown field "{p}"' for p in problems))


def _kind_of(req, body) -> tuple:
    if isinstance(body, dict) and body.get("kind") and body.get("apiVersion"):
        return str(body["kind"]), str(body["apiVersion"])
    try:
        rt = REGISTRY.by_resource(req.resource, req.group)
        return rt.kind, rt.api_version
    except errors.NotFound:
        return "Object", "v1"


def strict_patch_error(patch, problems) -> errors.Invalid:
    """A Strict patch that brings unknown fields: kube-apiserver answers 422 with one cause
    on the field `patch`, quoting the patch as Go prints a map. kubectl shows it as
    `The request is invalid: patch: Invalid value: "map[spec:map[bogus:1]]": ...`."""
    text = "strict decoding error: " + ", ".join(f'unknown field "{p}"' for p in problems)
    return errors.invalid("", "", [errors.Cause(
        "patch", "FieldValueInvalid", f"Invalid value: {json.dumps(_go_value(patch))}: {text}")])


def _go_value(v) -> str:
    """Go's `%+v` of a decoded JSON value: map[a:1 b:[x y]], keys sorted."""
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{_go_value(v[k])}" for k in sorted(v)) + "]"
    if isinstance(v, list):
        return "[" + " ".join(_go_value(x) for x in v) + "]"
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)
