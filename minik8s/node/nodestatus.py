"""Node registration, node status and the node Lease: how a kubelet says "I am here".

In Kubernetes the kubelet creates its own Node object on start-up (or, when one by
that name exists — a restarted kubelet — adopts and updates it), with capacity and
allocatable, addresses, `daemonEndpoints.kubeletEndpoint.Port` (where the API server
reaches it for logs), `nodeInfo` and the conditions MemoryPressure, DiskPressure,
PIDPressure and Ready ("KubeletReady: kubelet is posting ready status"). Its
*heartbeat* is a Lease `kube-node-lease/<node>` whose `renewTime` it bumps every 10 s
(a quarter of `leaseDurationSeconds` = 40); the Node's status itself is only re-posted
when something changed, or every 5 minutes (nodeStatusReportFrequency). The node
lifecycle controller watches both.

Here `NodeStatusManager` does those three jobs on the clock (`step()` returns when
the next one is due), and `PodCIDR` hands out pod IPs from the `spec.podCIDR` the API
server allocated to the Node: `.1` is the node itself (its InternalIP, where the kubelet
listens), pods get `.2` upwards.

Invariant: no two live pods of a node get the same IP; an IP is reused only after
`release`.
"""
from __future__ import annotations

import ipaddress
import logging
import platform
import uuid
from typing import Optional

from ..api.clock import Clock
from ..api.errors import AlreadyExists, APIError, Conflict, NotFound
from ..api.meta import get_path, micro_time, new_uid, parse_time, rfc3339

log = logging.getLogger(__name__)

KUBELET_VERSION = "v1.32.4-minik8s"
LEASE_NAMESPACE = "kube-node-lease"

# (type, reason, message) while healthy — the kubelet's setters, in its order.
HEALTHY_CONDITIONS = (
    ("MemoryPressure", "False", "KubeletHasSufficientMemory",
     "kubelet has sufficient memory available"),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
)


def capacity(cpu: str, memory: str, pods: int, extended: Optional[dict] = None) -> dict:
    cap = {"cpu": str(cpu), "memory": str(memory), "pods": str(pods),
           "ephemeral-storage": "100Gi"}
    cap.update({k: str(v) for k, v in (extended or {}).items()})
    return cap


def _arch() -> str:
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}.get(machine, machine or "amd64")


def _os_image() -> str:
    try:
        return platform.freedesktop_os_release().get("PRETTY_NAME", "Linux")
    except (OSError, AttributeError):
        return "Linux"


def node_info(node_name: str, runtime_name: str, boot_id: str) -> dict:
    machine = uuid.uuid5(uuid.NAMESPACE_DNS, f"{node_name}.minik8s")
    return {"machineID": machine.hex, "systemUUID": str(machine), "bootID": boot_id,
            "kernelVersion": platform.release(), "osImage": _os_image(),
            "containerRuntimeVersion": f"minik8s-{runtime_name}://0.1",
            "kubeletVersion": KUBELET_VERSION, "kubeProxyVersion": KUBELET_VERSION,
            "operatingSystem": "linux", "architecture": _arch()}


def node_labels(node_name: str, extra: Optional[dict] = None) -> dict:
    arch = _arch()
    labels = {"beta.kubernetes.io/arch": arch, "beta.kubernetes.io/os": "linux",
              "kubernetes.io/arch": arch, "kubernetes.io/hostname": node_name,
              "kubernetes.io/os": "linux"}
    labels.update(extra or {})
    return labels


def node_conditions(old: list, now: float, heartbeat: float) -> list:
    """The four conditions, keeping lastTransitionTime where the status is unchanged;
    lastHeartbeatTime is the time of this report."""
    old_by_type = {c.get("type"): c for c in old or []}
    out = []
    for ctype, status, reason, message in HEALTHY_CONDITIONS:
        before = old_by_type.get(ctype) or {}
        since = before.get("lastTransitionTime") if before.get("status") == status else None
        out.append({"type": ctype, "status": status, "reason": reason, "message": message,
                    "lastHeartbeatTime": rfc3339(heartbeat),
                    "lastTransitionTime": since or rfc3339(now)})
    return out


def node_ip(pod_cidr: str) -> str:
    """The node's own address: the first host of its pod CIDR (.1)."""
    net = ipaddress.ip_network(pod_cidr, strict=False)
    return str(net.network_address + 1)


class PodCIDR:
    """Pod IPs out of one node's podCIDR: `.2` upwards, the lowest free one first."""

    def __init__(self, cidr: str):
        self.network = ipaddress.ip_network(cidr, strict=False)
        self._by_uid: dict = {}

    def allocate(self, uid: str) -> str:
        if uid in self._by_uid:
            return self._by_uid[uid]
        used = set(self._by_uid.values())
        # .0 is the network, .1 the node, the last one the broadcast address.
        for i in range(2, self.network.num_addresses - 1):
            ip = str(self.network.network_address + i)
            if ip not in used:
                self._by_uid[uid] = ip
                return ip
        first, last = self.network.network_address + 2, self.network.broadcast_address - 1
        raise RuntimeError(f"failed to allocate for range 0: no IP addresses available "
                           f"in range set: {first}-{last}")

    def adopt(self, uid: str, ip: str) -> bool:
        """Take over an IP a pod already has (a restarted kubelet); False if unusable."""
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return False
        if addr not in self.network or int(addr) - int(self.network.network_address) < 2 \
                or ip in self._by_uid.values():
            return self._by_uid.get(uid) == ip
        self._by_uid[uid] = ip
        return True

    def release(self, uid: str) -> None:
        self._by_uid.pop(uid, None)

    def in_use(self) -> dict:
        return dict(self._by_uid)


class NodeStatusManager:
    """Registers the Node, keeps its status current and renews its Lease."""

    def __init__(self, client, clock: Clock, rng, *, node_name: str, runtime_name: str,
                 capacity: dict, labels: Optional[dict] = None, address: str = "",
                 kubelet_port: int = 0, lease_duration: int = 40,
                 heartbeat_period: float = 10, status_update_period: float = 10,
                 status_report_period: float = 300):
        self.client, self.clock = client, clock
        self.node_name = node_name
        self.runtime_name = runtime_name
        self.capacity = dict(capacity)
        self.labels = node_labels(node_name, labels)
        self.address = address
        self.kubelet_port = kubelet_port
        self.lease_duration = int(lease_duration)
        self.heartbeat_period = heartbeat_period
        self.status_update_period = status_update_period
        self.status_report_period = status_report_period
        self.boot_id = new_uid(rng)
        self.node: Optional[dict] = None       # the Node as last written or read
        self.lease: Optional[dict] = None
        self._next_lease: Optional[float] = None
        self._next_status: Optional[float] = None
        self._last_report: Optional[float] = None
        self.last_error: Optional[BaseException] = None

    # --- what we report ------------------------------------------------------------
    @property
    def pod_cidr(self) -> str:
        return get_path(self.node or {}, "spec", "podCIDR") or ""

    @property
    def node_ip(self) -> str:
        if self.address:
            return self.address
        return node_ip(self.pod_cidr) if self.pod_cidr else ""

    def desired_status(self, old: dict, heartbeat: float) -> dict:
        addresses = ([{"type": "InternalIP", "address": self.node_ip}] if self.node_ip else []) \
            + [{"type": "Hostname", "address": self.node_name}]
        status = {k: v for k, v in (old or {}).items()
                  if k not in ("capacity", "allocatable", "conditions", "addresses",
                               "daemonEndpoints", "nodeInfo", "phase")}
        status.update({
            "capacity": dict(self.capacity), "allocatable": dict(self.capacity),
            "conditions": node_conditions((old or {}).get("conditions"), self.clock.now(),
                                          heartbeat),
            "addresses": addresses,
            "daemonEndpoints": {"kubeletEndpoint": {"Port": int(self.kubelet_port)}},
            "nodeInfo": node_info(self.node_name, self.runtime_name, self.boot_id)})
        return status

    # --- registration ----------------------------------------------------------------
    def register(self) -> bool:
        """Create the Node, or adopt the existing one (a restarted kubelet). True once
        the Node exists with our status."""
        if self.node is not None:
            return True
        now = self.clock.now()
        body = {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": self.node_name, "labels": dict(self.labels),
                             "annotations": {"node.alpha.kubernetes.io/ttl": "0"}},
                "spec": {}, "status": self.desired_status({}, now)}
        try:
            try:
                node = self.client.create(body)
            except AlreadyExists:
                node = self.client.get("nodes", self.node_name)
                meta = node["metadata"]
                if any(meta.get("labels", {}).get(k) != v for k, v in self.labels.items()):
                    meta["labels"] = {**(meta.get("labels") or {}), **self.labels}
                    node = self.client.update(node)
            self.node = node
            self._post_status(force=True)      # addresses need the allocated podCIDR
        except APIError as e:
            self.node = None
            self.last_error = e
            log.warning("kubelet %s: registration failed: %s", self.node_name, e)
            return False
        return True

    # --- periodic work ------------------------------------------------------------------
    def step(self) -> Optional[float]:
        """Renew the Lease and report status when due; seconds until the next duty."""
        if not self.register():
            return 1.0
        now = self.clock.monotonic()
        if self._next_lease is None or now >= self._next_lease:
            self._next_lease = now + (self.heartbeat_period if self.renew_lease()
                                      else min(self.heartbeat_period, 1.0))
        if self._next_status is None or now >= self._next_status:
            self._post_status(force=False)
            self._next_status = now + self.status_update_period
        return max(0.0, min(self._next_lease, self._next_status) - now)

    def request_update(self) -> None:
        """Something we report changed (e.g. the kubelet port): check at the next step."""
        self._next_status = None

    def _post_status(self, force: bool) -> None:
        """Post the Node's status if it differs from the Node as it is now in the API
        (someone else — the node lifecycle controller — may have changed it), or the
        report period ran out, as the kubelet's tryUpdateNodeStatus."""
        mono, now = self.clock.monotonic(), self.clock.now()
        due = force or self._last_report is None or \
            mono - self._last_report >= self.status_report_period
        for _ in range(3):
            try:
                if not force:
                    self.node = self.client.get("nodes", self.node_name)
                old = self.node.get("status") or {}
                # Compare with the heartbeat left as it was: only a real change counts.
                status = self.desired_status(old, now if due else _heartbeat_of(old, now))
                if status == old:
                    return
                if not due:
                    status = self.desired_status(old, now)
                self.node = self.client.update_status(dict(self.node, status=status))
                self._last_report = mono
                return
            except Conflict:
                force = False                     # re-read and try again
            except NotFound:
                self.node = None                  # deleted under us: register again
                return
            except APIError as e:
                self.last_error = e
                return

    def renew_lease(self) -> bool:
        """Bump renewTime on kube-node-lease/<node> (create it the first time)."""
        now = micro_time(self.clock.now())
        try:
            if self.lease is None:
                try:
                    self.lease = self.client.get("leases", self.node_name, LEASE_NAMESPACE)
                except NotFound:
                    self.lease = self.client.create(self._lease_body(now), LEASE_NAMESPACE)
                    return True
            lease = dict(self.lease, spec=dict(self.lease.get("spec") or {},
                                               holderIdentity=self.node_name,
                                               leaseDurationSeconds=self.lease_duration,
                                               renewTime=now))
            self.lease = self.client.update(lease)
            return True
        except (Conflict, NotFound) as e:
            self.lease = None                     # re-read (or re-create) next time
            self.last_error = e
        except APIError as e:
            self.last_error = e
        return False

    def _lease_body(self, now: str) -> dict:
        meta = {"name": self.node_name, "namespace": LEASE_NAMESPACE}
        if self.node is not None:
            meta["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node",
                                        "name": self.node_name,
                                        "uid": self.node["metadata"]["uid"]}]
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta,
                "spec": {"holderIdentity": self.node_name,
                         "leaseDurationSeconds": self.lease_duration, "renewTime": now}}


def _heartbeat_of(status: dict, default: float) -> float:
    for c in status.get("conditions") or []:
        if c.get("type") == "Ready" and c.get("lastHeartbeatTime"):
            return parse_time(c["lastHeartbeatTime"]) or default
    return default
