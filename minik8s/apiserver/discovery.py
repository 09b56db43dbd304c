"""Discovery and version: how kubectl learns what this server serves.

kubectl knows no resource in advance. It asks `/api` and `/apis` for the group
versions, then `/api/v1` and `/apis/<group>/<version>` for their resources (names,
kinds, verbs, short names, categories), and caches the answer for six hours. That is
where `po`, `deploy`, `kubectl get all` (category "all") and `kubectl api-resources`
come from. We answer with the legacy (non-aggregated) documents; all of them are
generated from the one registry of kinds.

`/version` matters more than it looks: the gcloud kubectl "dispatcher" on our machines
runs the kubectl binary whose minor matches the server's, so minor "32" selects the
behaviour measured in kubectl-contract.md.
"""
from __future__ import annotations

VERSION = {"major": "1", "minor": "32", "gitVersion": "v1.32.4-minik8s",
           "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
           "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.23", "compiler": "gc",
           "platform": "linux/amd64"}

_SUB_VERBS = {"status": ["get", "patch", "update"], "scale": ["get", "patch", "update"],
              "binding": ["create"], "eviction": ["create"], "finalize": ["update"],
              "log": ["get"], "exec": ["create", "get"], "attach": ["create", "get"],
              "portforward": ["create", "get"], "proxy": ["create", "delete", "get", "patch", "update"],
              "token": ["create"], "ephemeralcontainers": ["get", "patch", "update"]}
# Subresources whose body is another kind (the discovery entry says which).
_SUB_KIND = {"scale": ("autoscaling", "v1", "Scale"), "binding": ("", "v1", "Binding"),
             "eviction": ("policy", "v1", "Eviction"), "log": ("", "v1", "Pod"),
             "exec": ("", "v1", "PodExecOptions"), "attach": ("", "v1", "PodAttachOptions"),
             "portforward": ("", "v1", "PodPortForwardOptions"),
             "proxy": ("", "v1", "NodeProxyOptions"), "token": ("authentication.k8s.io", "v1",
                                                                "TokenRequest")}


def api_versions(server_address: str) -> dict:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                            "serverAddress": server_address}]}


def api_group_list(registry) -> dict:
    groups = {}
    for t in registry.all():
        if t.group:
            groups.setdefault(t.group, [])
            if t.version not in groups[t.group]:
                groups[t.group].append(t.version)
    out = []
    for g, versions in groups.items():
        vs = [{"groupVersion": f"{g}/{v}", "version": v} for v in versions]
        out.append({"name": g, "versions": vs, "preferredVersion": vs[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": out}


def api_group(registry, group: str) -> dict | None:
    for g in api_group_list(registry)["groups"]:
        if g["name"] == group:
            return dict(g, kind="APIGroup", apiVersion="v1")
    return None


def api_resource_list(registry, group: str, version: str) -> dict | None:
    types = [t for t in registry.all() if t.group == group and t.version == version]
    if not types:
        return None
    resources = []
    for t in types:
        entry = {"name": t.plural, "singularName": t.singular, "namespaced": t.namespaced,
                 "kind": t.kind, "verbs": list(t.verbs)}
        if t.short_names:
            entry["shortNames"] = list(t.short_names)
        if t.categories:
            entry["categories"] = list(t.categories)
        resources.append(entry)
        for sub in t.subresources:
            g, v, kind = _SUB_KIND.get(sub, (t.group, t.version, t.kind))
            s = {"name": f"{t.plural}/{sub}", "singularName": "", "namespaced": t.namespaced,
                 "kind": kind, "verbs": _SUB_VERBS.get(sub, ["get"])}
            if (g, v) != (t.group, t.version):
                s["group"], s["version"] = g, v
            resources.append(s)
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
            "resources": resources}
