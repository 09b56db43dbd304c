"""Address allocation: Service ClusterIPs and NodePorts, and a pod CIDR per Node.

In Kubernetes the Service REST storage allocates `spec.clusterIP` from the service
CIDR (default 10.96.0.0/12) and `nodePort`s from 30000-32767, and the node IPAM
controller gives every Node a `spec.podCIDR` (a /24 of 10.244.0.0/16) from which its
pods get addresses. minik8s runs on one host, so every range lives in loopback
(127.0.0.0/8) where any address can be bound without configuration:

    services   127.96.0.0/12   (127.96.0.1 is the `kubernetes` service, as 10.96.0.1)
    pods       127.128.0.0/9   one /24 per node: 127.128.0.0/24, 127.128.1.0/24, ...

Allocation is derived from what is stored (the set of used addresses is read from
the objects; for pod CIDRs through `UsedIndex`, kept current by the store's own
watch), so there is no allocator state to lose or to disagree with the store;
the pipeline holds its allocation lock from choosing a value to writing the object,
so two creates never receive the same address. Choices come from the seeded rng
(ClusterIPs, NodePorts) or in order from a rolling offset (pod CIDRs, like the range allocator).
"""
from __future__ import annotations

import ipaddress
import json

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


class UsedIndex:
    """The values of one field across the stored objects of one prefix (e.g. every
    Node's spec.podCIDR), kept current from the store itself: one range at first use,
    then the store's own watch. Still derived from the store — nothing to lose or to
    disagree — but a registration no longer reads every Node (O(N^2) for N nodes)."""

    def __init__(self, store, prefix: str, extract):
        self._store, self._prefix, self._extract = store, prefix, extract
        self._by_key: dict = {}
        self._counts: dict = {}
        self._watcher = None

    def __contains__(self, value) -> bool:
        self._catch_up()
        return value in self._counts

    def __len__(self) -> int:
        self._catch_up()
        return len(self._counts)

    def _catch_up(self) -> None:
        if self._watcher is None or self._watcher.closed:
            self._by_key, self._counts = {}, {}
            res = self._store.range(self._prefix, prefix=True)
            for kv in res.kvs:
                self._set(kv.key, kv.value)
            self._watcher = self._store.watch(self._prefix, prefix=True,
                                              start_revision=res.revision + 1)
        for ev in self._watcher.poll():
            self._set(ev.kv.key, ev.kv.value if ev.type == "PUT" else None)

    def _set(self, key: str, raw) -> None:
        old = self._by_key.pop(key, None)
        if old is not None:
            self._counts[old] -= 1
            if not self._counts[old]:
                del self._counts[old]
        value = self._extract(json.loads(raw)) if raw else None
        if value is not None:
            self._by_key[key] = value
            self._counts[value] = self._counts.get(value, 0) + 1


def allocate_pod_cidr(used, start: int = 0, cidr=POD_CIDR,
                      prefix: int = NODE_CIDR_PREFIX) -> tuple:
    """The next free /24 at or after index `start`, wrapping around: Kubernetes' range
    allocator keeps the same rolling offset, so N registrations cost O(N), not O(N^2),
    and a freed CIDR is reused only after the range wraps. -> (cidr, its index)."""
    base, step = int(cidr.network_address), 1 << (32 - prefix)
    total = cidr.num_addresses // step
    for k in range(total):
        i = (start + k) % total
        subnet = f"{ipaddress.ip_address(base + i * step)}/{prefix}"
        if subnet not in used:
            return subnet, i
    raise errors.InternalError(f"failed to allocate a pod CIDR: {cidr} is full")
