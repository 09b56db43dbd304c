"""OpenAPI v3: just enough for `kubectl apply -f` with default validation.

(Minimal version: one PATCH operation per kind declaring `fieldValidation`, which
makes kubectl leave validation to the server — contract §3.3.)
"""
from __future__ import annotations

import hashlib
import json


def _gv_path(rt) -> str:
    return f"apis/{rt.group}/{rt.version}" if rt.group else "api/v1"


def document(registry, segments: list):
    if not segments:
        paths = {}
        for gv in _gvs(registry):
            doc = _gv_doc(registry, gv)
            digest = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16].upper()
            paths[gv] = {"serverRelativeURL": f"/openapi/v3/{gv}?hash={digest}"}
        return {"paths": paths}
    gv = "/".join(segments)
    if gv not in _gvs(registry):
        return None
    return _gv_doc(registry, gv)


def _gvs(registry) -> list:
    out = []
    for rt in registry.all():
        if _gv_path(rt) not in out:
            out.append(_gv_path(rt))
    return out


def _gv_doc(registry, gv: str) -> dict:
    paths = {}
    for rt in registry.all():
        if _gv_path(rt) != gv:
            continue
        base = f"/{gv}/namespaces/{{namespace}}/{rt.plural}/{{name}}" if rt.namespaced \
            else f"/{gv}/{rt.plural}/{{name}}"
        paths[base] = {"patch": {
            "parameters": [{"name": "fieldValidation", "in": "query",
                            "schema": {"type": "string"}}],
            "x-kubernetes-group-version-kind": {"group": rt.group, "version": rt.version,
                                                "kind": rt.kind}}}
    return {"openapi": "3.0.0", "info": {"title": "minik8s", "version": "v1.32.4"},
            "paths": paths, "components": {"schemas": {}}}


def unknown_fields(resource: str, group, body) -> list:
    return []


def strict_message(req, body, problems) -> str:
    return ""
