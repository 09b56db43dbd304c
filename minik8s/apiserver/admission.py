"""Admission: the chain every create and update passes before it is stored.

kube-apiserver runs mutating admission plugins (which may change the object), then
validation, then validating plugins (which may only reject). An object that fails
any step is never written: the client gets a Status and the store is untouched.

The chain here, in order (each plugin a small function over an `Admission` record):
  1. NamespaceLifecycle      nothing new in a missing or Terminating namespace;
                             the system namespaces cannot be deleted (see pipeline)
  2. defaulting              minik8s.api.defaults, also inside pod templates
  3. DefaultTolerationSeconds  pods tolerate `not-ready`/`unreachable` NoExecute
                             taints for N seconds (300 by default; a server flag)
  4. ServiceIPs / NodePorts  allocate `spec.clusterIP(s)` and `nodePort`s
  5. NodeIPAM                a `spec.podCIDR` per Node, never two the same
  6. validation              minik8s.api.validation -> 422 Invalid with causes
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from minik8s.api import errors
from minik8s.api.defaults import apply_defaults
from minik8s.api.registry import ResourceType
from minik8s.api.validation import validate

from . import allocators

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"


@dataclass
class Admission:
    server: object            # the APIServer (for reads: namespaces, services, nodes)
    operation: str            # CREATE | UPDATE
    rt: ResourceType
    obj: dict                 # the object to store: plugins may change it
    old: Optional[dict] = None


def admit(a: Admission) -> None:
    """Run the whole chain; raises a typed error, or returns with `a.obj` ready to store."""
    for plugin in (namespace_lifecycle, defaulting, default_toleration_seconds,
                   service_allocation, node_ipam, validation):
        plugin(a)


def namespace_lifecycle(a: Admission) -> None:
    if a.operation != "CREATE" or not a.rt.namespaced:
        return
    ns = a.obj["metadata"].get("namespace", "")
    try:
        namespace = a.server.read("namespaces", ns)
    except errors.NotFound:
        raise errors.not_found("namespaces", ns) from None
    if namespace.get("metadata", {}).get("deletionTimestamp") or \
            (namespace.get("status") or {}).get("phase") == "Terminating":
        name = a.obj["metadata"].get("name") or a.obj["metadata"].get("generateName", "")
        raise errors.Forbidden(
            f'{a.rt.plural} "{name}" is forbidden: unable to create new content in namespace '
            f"{ns} because it is being terminated", kind=a.rt.plural, name=name)


def defaulting(a: Admission) -> None:
    apply_defaults(a.obj)


def default_toleration_seconds(a: Admission) -> None:
    """Every pod tolerates the not-ready and unreachable NoExecute taints for a while,
    so a node that blips does not evict its pods at once; after that many seconds the
    taint manager evicts them. A pod that already tolerates a taint keeps its own."""
    if a.rt.kind != "Pod" or a.operation != "CREATE":
        return
    seconds = a.server.default_toleration_seconds
    spec = a.obj.setdefault("spec", {})
    tolerations = list(spec.get("tolerations") or [])
    for key in (NOT_READY, UNREACHABLE):
        if not any(_tolerates_key(t, key) for t in tolerations):
            tolerations.append({"key": key, "operator": "Exists", "effect": "NoExecute",
                                "tolerationSeconds": seconds})
    spec["tolerations"] = tolerations


def _tolerates_key(t: dict, key: str) -> bool:
    # An empty key with operator Exists tolerates every taint (the plugin's own rule).
    return (t.get("key") in (key, "", None)) and t.get("effect") in ("NoExecute", "", None)


def service_allocation(a: Admission) -> None:
    if a.rt.kind != "Service":
        return
    spec = a.obj.setdefault("spec", {})
    stype = spec.get("type", "ClusterIP")
    others = [s for s in a.server.list_all("services")
              if s["metadata"]["uid"] != (a.old or {}).get("metadata", {}).get("uid")]
    old_spec = (a.old or {}).get("spec") or {}
    if stype == "ExternalName":
        spec.pop("clusterIP", None)
        spec.pop("clusterIPs", None)
    elif a.old is not None and old_spec.get("clusterIP") and not spec.get("clusterIP"):
        # An update that leaves clusterIP out keeps the allocated one (as Kubernetes
        # does since 1.20), so `kubectl replace` need not repeat it.
        spec["clusterIP"] = old_spec["clusterIP"]
        spec["clusterIPs"] = old_spec.get("clusterIPs") or [old_spec["clusterIP"]]
    elif a.old is None:
        wanted = spec.get("clusterIP") or (spec.get("clusterIPs") or [""])[0]
        used = allocators.used_cluster_ips(others)
        if wanted == "None":
            spec["clusterIP"], spec["clusterIPs"] = "None", ["None"]
        elif wanted:
            allocators.check_cluster_ip(wanted, used)
            spec["clusterIP"], spec["clusterIPs"] = wanted, [wanted]
        else:
            ip = allocators.allocate_cluster_ip(a.server.rng, used)
            spec["clusterIP"], spec["clusterIPs"] = ip, [ip]
    if stype in ("NodePort", "LoadBalancer"):
        used = allocators.used_node_ports(others)
        old_ports = {p.get("port"): p.get("nodePort") for p in old_spec.get("ports") or []}
        for i, p in enumerate(spec.get("ports") or []):
            if not p.get("nodePort") and old_ports.get(p.get("port")):
                p["nodePort"] = old_ports[p.get("port")]
            if p.get("nodePort"):
                if p["nodePort"] in used:
                    raise errors.invalid("Service", a.obj["metadata"].get("name", ""), [
                        errors.Cause(f"spec.ports[{i}].nodePort", "FieldValueInvalid",
                                     f"Invalid value: {p['nodePort']}: provided port is "
                                     "already allocated")])
            else:
                p["nodePort"] = allocators.allocate_node_port(a.server.rng, used)
            used.add(p["nodePort"])
    else:
        # Leaving NodePort/LoadBalancer: drop what only those types may carry, as the
        # Service strategy does, or validation would reject the merged object.
        for p in spec.get("ports") or []:
            p.pop("nodePort", None)
        if old_spec.get("externalTrafficPolicy") == spec.get("externalTrafficPolicy"):
            spec.pop("externalTrafficPolicy", None)


def node_ipam(a: Admission) -> None:
    if a.rt.kind != "Node":
        return
    spec = a.obj.setdefault("spec", {})
    old_cidr = ((a.old or {}).get("spec") or {}).get("podCIDR")
    if old_cidr:
        spec["podCIDR"], spec["podCIDRs"] = old_cidr, [old_cidr]
        return
    if spec.get("podCIDR"):
        return
    used = a.server.pod_cidrs      # an index over the stored Nodes' podCIDRs
    cidr, index = allocators.allocate_pod_cidr(used, a.server.next_pod_cidr)
    a.server.next_pod_cidr = index + 1
    spec["podCIDR"], spec["podCIDRs"] = cidr, [cidr]


def validation(a: Admission) -> None:
    causes = validate(a.obj, a.old)
    if a.old is not None and a.rt.kind != "Namespace":
        old_fin = set(a.old["metadata"].get("finalizers") or [])
        new_fin = set(a.obj["metadata"].get("finalizers") or [])
        if a.old["metadata"].get("deletionTimestamp") and new_fin - old_fin:
            causes = list(causes) + [errors.Cause(
                "metadata.finalizers", "FieldValueForbidden",
                "Forbidden: no new finalizers can be added if the object is being deleted, "
                f"found new finalizers {sorted(new_fin - old_fin)}")]
    if causes:
        raise errors.invalid(a.rt.kind, a.obj["metadata"].get("name", ""), causes, a.rt.group)
