"""Printer columns of everything that is not a workload: services and endpoints, nodes,
namespaces, events, leases, config, storage and RBAC bindings.

In Kubernetes these are handlers of pkg/printers/internalversion/printers.go, as in
`printers_kinds.py` (the workloads); `printers.py` is the framework. Objects are read in
their JSON (v1) shape. Roles and ClusterRoles have no printer in Kubernetes either: they
get the fallback `NAME`, `CREATED AT`.
"""
from __future__ import annotations

from dataclasses import replace

from . import meta
from .printers import AGE, NAME, age, col, get, printer, quantity_cell, since
from .selectors import format_labels


# --------------------------------------------------------------------------- networking
def _external_ip(svc: dict) -> str:
    """getServiceExternalIP: spec.externalIPs, or the load balancer's, or a placeholder."""
    spec = svc.get("spec") or {}
    external = spec.get("externalIPs") or []
    kind = spec.get("type", "ClusterIP")
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) or "<none>"
    if kind == "LoadBalancer":
        lb = sorted({i.get("ip") or i.get("hostname") for i in get(svc, "status", "loadBalancer",
                     "ingress", default=[]) if i.get("ip") or i.get("hostname")})
        return ",".join(lb + external) or "<pending>"
    if kind == "ExternalName":
        return spec.get("externalName", "")
    return "<unknown>"


def port_string(ports: list) -> str:
    """makePortString: `80/TCP`, and `80:30080/TCP` when a nodePort is allocated."""
    out = []
    for p in ports or []:
        node_port = f":{p['nodePort']}" if p.get("nodePort") else ""
        out.append(f"{p.get('port')}{node_port}/{p.get('protocol', 'TCP')}")
    return ",".join(out)


@printer("Service", columns=[
    NAME, col("Type", "How the service is exposed."), col("Cluster-IP", "The service's virtual IP."),
    col("External-IP", "IPs on which the service is reachable from outside the cluster."),
    col("Port(s)", "The ports the service exposes."), AGE,
    col("Selector", "Route traffic to pods with labels matching this selector.", wide=True)])
def service_row(svc: dict, now: float) -> list:
    spec = svc.get("spec") or {}
    ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    return [meta.name_of(svc), spec.get("type", "ClusterIP"), ips[0] if ips else "<none>",
            _external_ip(svc), port_string(spec.get("ports")) or "<none>", age(svc, now),
            format_labels(spec.get("selector"))]


def format_endpoints(endpoints: dict) -> str:
    """formatEndpoints: `ip:port` for every address and port, three at most, then
    `+ N more...`; bare IPs when a subset has no ports (headless); `<none>` if empty."""
    subsets = endpoints.get("subsets") or []
    if not subsets:
        return "<none>"
    shown, count = [], 0
    for ss in subsets:
        addresses = [a.get("ip", "") for a in ss.get("addresses") or []]
        ports = ss.get("ports") or []
        for port in ports or [None]:
            count += len(addresses)
            for ip in addresses:
                if len(shown) == 3:
                    break
                host = f"[{ip}]" if ":" in ip else ip     # net.JoinHostPort brackets IPv6
                shown.append(ip if port is None else f"{host}:{port.get('port')}")
    text = ",".join(shown)
    return f"{text} + {count - 3} more..." if count > 3 else text


@printer("Endpoints", columns=[NAME, col("Endpoints", "The ready addresses and ports."), AGE])
def endpoints_row(ep: dict, now: float) -> list:
    return [meta.name_of(ep), format_endpoints(ep), age(ep, now)]


@printer("Ingress", columns=[
    NAME, col("Class", "The name of the IngressClass resource that should be used for "
              "additional configuration"),
    col("Hosts", "Hosts that incoming requests are matched against before the ingress rule"),
    col("Address", "Address is a list containing ingress points for the load-balancer"),
    col("Ports", "Ports of TLS configurations that open"), AGE])
def ingress_row(ing: dict, now: float) -> list:
    spec = ing.get("spec") or {}
    rules = spec.get("rules") or []
    hosts, more = [], False
    for rule in rules:                   # formatHosts: three hosts, then "+ N more..."
        if len(hosts) == 3:
            more = True
            break
        if rule.get("host"):
            hosts.append(rule["host"])
    hosts_cell = (",".join(hosts) or "*") + (f" + {len(rules) - 3} more..." if more else "")
    lb = sorted({i.get("ip") or i.get("hostname") for i in get(ing, "status", "loadBalancer",
                 "ingress", default=[]) if i.get("ip") or i.get("hostname")})
    return [meta.name_of(ing), spec.get("ingressClassName") or "<none>", hosts_cell,
            ",".join(lb), "80, 443" if spec.get("tls") else "80", age(ing, now)]


# --------------------------------------------------------------------------- cluster
def node_status(node: dict) -> str:
    """`Ready`, `NotReady` (Ready is False *or Unknown*), `Unknown` (no Ready condition
    at all), plus `,SchedulingDisabled` for a cordoned node."""
    ready = next((c for c in get(node, "status", "conditions", default=[])
                  if c.get("type") == "Ready"), None)
    status = ["Unknown" if ready is None else "Ready" if ready.get("status") == "True" else "NotReady"]
    if get(node, "spec", "unschedulable"):
        status.append("SchedulingDisabled")
    return ",".join(status)


def node_roles(node: dict) -> str:
    """findNodeRoles: `node-role.kubernetes.io/<role>` keys and `kubernetes.io/role` values."""
    roles = set()
    for key, value in get(node, "metadata", "labels", default={}).items():
        if key.startswith("node-role.kubernetes.io/") and key[len("node-role.kubernetes.io/"):]:
            roles.add(key[len("node-role.kubernetes.io/"):])
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    return ",".join(sorted(roles)) or "<none>"


@printer("Node", columns=[
    NAME, col("Status", "The status of the node"), col("Roles", "The roles of the node"), AGE,
    col("Version", "Kubelet Version reported by the node."),
    col("Internal-IP", "The node's InternalIP address.", wide=True),
    col("External-IP", "The node's ExternalIP address.", wide=True),
    col("OS-Image", "OS Image reported by the node.", wide=True),
    col("Kernel-Version", "Kernel Version reported by the node.", wide=True),
    col("Container-Runtime", "ContainerRuntime Version reported by the node.", wide=True)])
def node_row(node: dict, now: float) -> list:
    info = get(node, "status", "nodeInfo", default={})
    addresses = get(node, "status", "addresses", default=[])

    def address(kind):
        return next((a.get("address") for a in addresses if a.get("type") == kind), "<none>")
    return [meta.name_of(node), node_status(node), node_roles(node), age(node, now),
            info.get("kubeletVersion", ""), address("InternalIP"), address("ExternalIP"),
            info.get("osImage") or "<unknown>", info.get("kernelVersion") or "<unknown>",
            info.get("containerRuntimeVersion") or "<unknown>"]


@printer("Namespace", columns=[NAME, col("Status", "The status of the namespace"), AGE])
def namespace_row(ns: dict, now: float) -> list:
    return [meta.name_of(ns), get(ns, "status", "phase", default=""), age(ns, now)]


@printer("Event", columns=[
    col("Last Seen", "The time at which the most recent occurrence of this event was recorded."),
    col("Type", "Type of this event (Normal, Warning)."),
    col("Reason", "A short, machine understandable string that gives the reason for this event."),
    col("Object", "The object that this event is about."),
    col("Subobject", "The part of the object this event is about (fieldPath).", wide=True),
    col("Source", "The component reporting this event.", wide=True),
    col("Message", "A human-readable description of the status of this operation."),
    col("First Seen", "The time at which the event was first recorded.", wide=True),
    col("Count", "The number of times this event has occurred.", wide=True),
    replace(NAME, priority=1)])
def event_row(ev: dict, now: float) -> list:
    first = since(ev.get("firstTimestamp") or ev.get("eventTime"), now)
    last = since(ev["lastTimestamp"], now) if ev.get("lastTimestamp") else first
    count = ev.get("count") or 1            # singleton events of the new API have no count
    if ev.get("series"):
        last, count = since(ev["series"].get("lastObservedTime"), now), ev["series"].get("count", 0)
    obj = ev.get("involvedObject") or {}
    target = obj.get("kind", "").lower() + (f"/{obj['name']}" if obj.get("name") else "")
    source = ev.get("source") or {}
    component = source.get("component") or ev.get("reportingComponent", "")
    instance = source.get("host") or ev.get("reportingInstance", "")
    return [last, ev.get("type", ""), ev.get("reason", ""), target, obj.get("fieldPath", ""),
            f"{component}, {instance}" if instance else component,
            (ev.get("message") or "").strip(), first, count, meta.name_of(ev)]


@printer("Lease", columns=[NAME, col("Holder", "The holder of the lease."), AGE])
def lease_row(lease: dict, now: float) -> list:
    return [meta.name_of(lease), get(lease, "spec", "holderIdentity", default=""), age(lease, now)]


# --------------------------------------------------------------------------- config
@printer("ConfigMap", columns=[NAME, col("Data", "Number of data and binaryData keys."), AGE])
def configmap_row(cm: dict, now: float) -> list:
    return [meta.name_of(cm), len(cm.get("data") or {}) + len(cm.get("binaryData") or {}), age(cm, now)]


@printer("Secret", columns=[NAME, col("Type", "Used to facilitate programmatic handling of "
                                      "secret data."), col("Data", "Number of data keys."), AGE])
def secret_row(secret: dict, now: float) -> list:
    return [meta.name_of(secret), secret.get("type", ""), len(secret.get("data") or {}),
            age(secret, now)]


@printer("ServiceAccount", columns=[NAME, col("Secrets", "Number of listed secrets."), AGE])
def serviceaccount_row(sa: dict, now: float) -> list:
    return [meta.name_of(sa), len(sa.get("secrets") or []), age(sa, now)]


# --------------------------------------------------------------------------- storage
def access_modes(modes: list) -> str:
    """GetAccessModesAsString: `RWO,ROX,RWX,RWOP` in that order, duplicates dropped."""
    short = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX",
             "ReadWriteOncePod": "RWOP"}
    return ",".join(v for k, v in short.items() if k in (modes or []))


def _storage_class(obj: dict) -> str:
    beta = get(obj, "metadata", "annotations", "volume.beta.kubernetes.io/storage-class")
    return beta if beta is not None else get(obj, "spec", "storageClassName", default="")


@printer("PersistentVolume", columns=[
    NAME, col("Capacity", "The storage capacity."), col("Access Modes", "The ways it can be mounted."),
    col("Reclaim Policy", "What happens to it when released from its claim."),
    col("Status", "The phase of the volume."), col("Claim", "The claim bound to it."),
    col("StorageClass", "StorageClass of the pv"),
    col("VolumeAttributesClass", "VolumeAttributesClass of the pv"),
    col("Reason", "Why the volume is in this phase."), AGE,
    col("VolumeMode", "Block or Filesystem.", wide=True)])
def pv_row(pv: dict, now: float) -> list:
    spec = pv.get("spec") or {}
    ref = spec.get("claimRef")
    phase = get(pv, "status", "phase", default="")
    if get(pv, "metadata", "deletionTimestamp"):
        phase = "Terminating"
    return [meta.name_of(pv), quantity_cell(get(spec, "capacity", "storage")),
            access_modes(spec.get("accessModes")), spec.get("persistentVolumeReclaimPolicy", ""), phase,
            f"{ref.get('namespace', '')}/{ref.get('name', '')}" if ref else "", _storage_class(pv),
            spec.get("volumeAttributesClassName") or "<unset>", get(pv, "status", "reason", default=""),
            age(pv, now), spec.get("volumeMode") or "<unset>"]


@printer("PersistentVolumeClaim", columns=[
    NAME, col("Status", "The phase of the claim."), col("Volume", "The volume bound to it."),
    col("Capacity", "The capacity of the bound volume."),
    col("Access Modes", "The ways the bound volume can be mounted."),
    col("StorageClass", "StorageClass of the pvc"),
    col("VolumeAttributesClass", "VolumeAttributesClass of the pvc"), AGE,
    col("VolumeMode", "Block or Filesystem.", wide=True)])
def pvc_row(pvc: dict, now: float) -> list:
    spec, st = pvc.get("spec") or {}, pvc.get("status") or {}
    phase = "Terminating" if get(pvc, "metadata", "deletionTimestamp") else st.get("phase", "")
    bound = bool(spec.get("volumeName"))   # capacity and modes only once bound
    return [meta.name_of(pvc), phase, spec.get("volumeName", ""),
            quantity_cell(get(st, "capacity", "storage")) if bound else "",
            access_modes(st.get("accessModes")) if bound else "", _storage_class(pvc),
            spec.get("volumeAttributesClassName") or "<unset>", age(pvc, now),
            spec.get("volumeMode") or "<unset>"]


# --------------------------------------------------------------------------- RBAC
@printer("RoleBinding", "ClusterRoleBinding", columns=[
    NAME, col("Role", "The role it grants."), AGE,
    col("Users", "Users in the binding", wide=True), col("Groups", "Groups in the binding", wide=True),
    col("ServiceAccounts", "ServiceAccounts in the binding", wide=True)])
def rolebinding_row(rb: dict, now: float) -> list:
    ref, subjects = rb.get("roleRef") or {}, rb.get("subjects") or []

    def names(kind, fmt):
        return ", ".join(fmt(s) for s in subjects if s.get("kind") == kind)
    return [meta.name_of(rb), f"{ref.get('kind', '')}/{ref.get('name', '')}", age(rb, now),
            names("User", lambda s: s.get("name", "")), names("Group", lambda s: s.get("name", "")),
            names("ServiceAccount", lambda s: f"{s.get('namespace', '')}/{s.get('name', '')}")]
