"""Address allocation: Service ClusterIPs and NodePorts, and a pod CIDR per Node.

In Kubernetes the Service REST storage allocates `spec.clusterIP` from the service
CIDR (default 10.96.0.0/12) and `nodePort`s from 30000-32767, and the node IPAM
controller gives every Node a `spec.podCIDR` (a /24 of 10.244.0.0/16) from which its
pods get addresses. minik8s runs on one host, so every range lives in loopback
(127.0.0.0/8) where any address can be bound without configuration:

    services   127.96.0.0/12   (127.96.0.1 is the `kubernetes` service, as 10.96.0.1)
    pods       127.128.0.0/9   one /24 per node: 127.128.0.0/24, 127.128.1.0/24, ...

Allocation is derived from what is stored (the set of used addresses is read from
the objects), so there is no allocator state to lose or to disagree with the store;
the pipeline holds its allocation lock from choosing a value to writing the object,
so two creates never receive the same address. Choices come from the seeded rng
(ClusterIPs, NodePorts) or in order (pod CIDRs, like the range allocator).
"""
from __future__ import annotations

import ipaddress

from minik8s.api import errors

SERVICE_CIDR = ipaddress.ip_network("127.96.0.0/12")
POD_CIDR = ipaddress.ip_network("127.128.0.0/9")
NODE_CIDR_PREFIX = 24
NODE_PORT_RANGE = (30000, 32767)
KUBERNETES_SERVICE_IP = str(SERVICE_CIDR.network_address + 1)


def used_cluster_ips(services: list) -> set:
    used = {KUBERNETES_SERVICE_IP}
    for s in services:
        for ip in [(s.get("spec") or {}).get("clusterIP")] + list((s.get("spec") or {}).get("clusterIPs") or []):
            if ip and ip != "None":
                used.add(ip)
    return used


def allocate_cluster_ip(rng, used: set, cidr=SERVICE_CIDR) -> str:
    """A free address of `cidr`, chosen at random (kube-apiserver picks randomly too)."""
    first, size = int(cidr.network_address) + 1, cidr.num_addresses - 2
    if len(used) >= size:
        raise errors.InternalError("failed to allocate a serviceIP: range is full")
    while True:
        ip = str(ipaddress.ip_address(first + rng.randrange(size)))
        if ip not in used:
            return ip


def check_cluster_ip(ip: str, used: set, cidr=SERVICE_CIDR) -> None:
    """A client asked for a specific ClusterIP: it must be in range and free."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        raise errors.invalid("Service", "", [errors.Cause(
            "spec.clusterIPs[0]", "FieldValueInvalid",
            f'Invalid value: "{ip}": must be a valid IP address')]) from None
    if addr not in cidr:
        raise errors.invalid("Service", "", [errors.Cause(
            "spec.clusterIPs[0]", "FieldValueInvalid",
            f'Invalid value: "{ip}": failed to allocate IP {ip}: the provided IP ({ip}) '
            f"is not in the valid range. The range of valid IPs is {cidr}")])
    if ip in used:
        raise errors.invalid("Service", "", [errors.Cause(
            "spec.clusterIPs[0]", "FieldValueInvalid",
            f'Invalid value: "{ip}": failed to allocate IP {ip}: provided IP is already allocated')])


def used_node_ports(services: list) -> set:
    return {p["nodePort"] for s in services for p in (s.get("spec") or {}).get("ports") or []
            if p.get("nodePort")}


def allocate_node_port(rng, used: set) -> int:
    lo, hi = NODE_PORT_RANGE
    if len(used) > hi - lo:
        raise errors.InternalError("failed to allocate a nodePort: range is full")
    while True:
        port = rng.randint(lo, hi)
        if port not in used:
            return port


def used_pod_cidrs(nodes: list) -> set:
    return {(n.get("spec") or {}).get("podCIDR") for n in nodes} - {None}


def allocate_pod_cidr(used: set, cidr=POD_CIDR, prefix: int = NODE_CIDR_PREFIX) -> str:
    """The first free /24: the order makes node N's pods easy to recognise in a demo."""
    base, step = int(cidr.network_address), 1 << (32 - prefix)
    for i in range(cidr.num_addresses // step):
        subnet = f"{ipaddress.ip_address(base + i * step)}/{prefix}"
        if subnet not in used:
            return subnet
    raise errors.InternalError(f"failed to allocate a pod CIDR: {cidr} is full")
