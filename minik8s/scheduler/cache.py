"""The scheduler cache: the nodes, and the pods on them as the scheduler counts them.

In Kubernetes (`pkg/scheduler/internal/cache`) the scheduler keeps its own NodeInfo
per node — the Node, its pods, the sum of their requests, the host ports in use — fed
by informers, plus *assumed* pods: the scheduler has decided where a pod goes and
counts it on that node at once, before the binding is written and long before the
informer reports the bound pod. Without that, the next cycle would see the node as
still free and overcommit it. When the bound pod arrives from the informer the
assumption is confirmed (the pod is already counted: it is replaced, not added
twice); if the bind fails the scheduler forgets the assumed pod.

This version does the same, keyed by pod UID, and leaves out the expiry of assumed
pods (kube-scheduler no longer expires them either). A node removed while pods are
still counted on it is kept out of sight until its pods are gone, as Kubernetes'
cache does (pod deletions arrive on another watch and may come later); pods seen
before their node are kept the same way until it arrives.

Snapshots are free: NodeInfos are copy-on-write. A change builds a new NodeInfo
(with a new, cache-wide increasing `generation`) and swaps it in; node_infos()
returns a list nobody changes afterwards, so a scheduling cycle reads a consistent
view without a deep copy of 5000 nodes — each change costs one copy of one node.
Readers must not mutate what they get. Not thread-safe (used from step() only).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from minik8s.scheduler.framework import NodeInfo, Resources
from minik8s.scheduler.plugins.basic import host_ports
from minik8s.scheduler.plugins.interpodaffinity import has_pod_affinity
from minik8s.scheduler.plugins.noderesources import node_allocatable, pod_requests


@dataclass(frozen=True)
class _PodState:
    pod: dict
    node: str
    requests: Resources            # what was added to the node, subtracted on removal


class SchedulerCache:
    def __init__(self):
        self._nodes: dict = {}           # name -> NodeInfo of a known Node
        self._hidden: dict = {}          # name -> NodeInfo with pods but no Node (yet / any more)
        self._pods: dict = {}            # uid -> _PodState
        self._assumed: set = set()       # uids assumed, not yet confirmed by the informer
        self._binding_finished: set = set()
        # node name -> how many of its pods have pod (anti-)affinity: Kubernetes'
        # NodeInfo.PodsWithAffinity, so InterPodAffinity need not look at every node.
        self._affinity: dict = {}
        self.generation = 0
        self._list: Optional[list] = None    # node_infos(), sorted by name
        self._index: dict = {}               # name -> position in _list
        self._list_shared = False            # handed out: copy before changing

    # -- nodes ----------------------------------------------------------------------

    def add_node(self, node: dict) -> None:
        name = node["metadata"]["name"]
        old = self._nodes.get(name) or self._hidden.pop(name, None)
        if old is None:
            old = NodeInfo({"metadata": {"name": name}})
        ni = self._copy(old, node=node, allocatable=node_allocatable(node))
        if name in self._nodes:
            self._put(ni)
        else:
            self._nodes[name] = ni
            self._list = None            # a new name: rebuild the sorted list

    update_node = add_node

    def remove_node(self, node: dict) -> None:
        name = node["metadata"]["name"]
        ni = self._nodes.pop(name, None)
        if ni is None:
            return
        self._list = None
        if ni.pods:
            self._hidden[name] = ni      # its pods stay counted until they are removed

    def node_info(self, name: str) -> Optional[NodeInfo]:
        return self._nodes.get(name)

    def node_infos(self) -> list:
        """The NodeInfos of all known nodes, by name. The list and its NodeInfos are
        never changed afterwards (later changes build new ones): read, don't mutate."""
        if self._list is None:
            self._list = [self._nodes[n] for n in sorted(self._nodes)]
            self._index = {ni.name: i for i, ni in enumerate(self._list)}
        self._list_shared = True
        return self._list

    # -- pods -----------------------------------------------------------------------

    def assume(self, pod: dict, node_name: str) -> dict:
        """Count `pod` on `node_name` now, before its binding is written. Returns the
        assumed copy (spec.nodeName set). A pod already in the cache is an error."""
        uid = _uid(pod)
        if uid in self._pods:
            raise ValueError(f"pod {_name(pod)}({uid}) is in the cache, so can't be assumed")
        assumed = {**pod, "spec": {**(pod.get("spec") or {}), "nodeName": node_name}}
        self._add(uid, assumed, node_name)
        self._assumed.add(uid)
        return assumed

    def finish_binding(self, pod: dict) -> None:
        """The binding request returned; the informer has yet to confirm it."""
        if _uid(pod) in self._assumed:
            self._binding_finished.add(_uid(pod))

    def forget(self, pod: dict) -> bool:
        """The bind failed: stop counting the assumed pod. False if it was not
        assumed (e.g. the informer already confirmed it: then it stays)."""
        uid = _uid(pod)
        if uid not in self._assumed:
            return False
        self._remove(uid)
        return True

    def is_assumed(self, pod: dict) -> bool:
        return _uid(pod) in self._assumed

    def add_pod(self, pod: dict) -> None:
        """A pod bound to a node, from the informer. Confirms an assumed pod (replaced,
        not counted twice; moved if it was bound elsewhere than assumed)."""
        uid = _uid(pod)
        node_name = (pod.get("spec") or {}).get("nodeName")
        if not node_name:
            return                       # not bound: the queue's business, not the cache's
        self._assumed.discard(uid)
        self._binding_finished.discard(uid)
        state = self._pods.get(uid)
        if state is None:
            self._add(uid, pod, node_name)
        elif state.node != node_name:
            self._remove(uid)
            self._add(uid, pod, node_name)
        else:
            self._replace(uid, state, pod)

    def update_pod(self, old: dict, new: Optional[dict] = None) -> None:
        """A bound pod changed (labels, resized requests): update_pod(new), or
        update_pod(old, new) like Kubernetes' UpdatePod. Replaces it, by UID."""
        self.add_pod(old if new is None else new)

    def remove_pod(self, pod: dict) -> None:
        uid = _uid(pod)
        if uid in self._pods:
            self._remove(uid)

    def nodes_with_affinity_pods(self) -> list:
        """NodeInfos of the known nodes holding a pod with pod (anti-)affinity."""
        return [self._nodes[n] for n in sorted(self._affinity) if n in self._nodes]

    def _count_affinity(self, pod: dict, node_name: str, delta: int) -> None:
        if has_pod_affinity(pod):
            n = self._affinity.get(node_name, 0) + delta
            if n:
                self._affinity[node_name] = n
            else:
                self._affinity.pop(node_name, None)

    def pod_count(self) -> int:
        return len(self._pods)

    def assumed_count(self) -> int:
        return len(self._assumed)

    # -- copy-on-write NodeInfo changes ---------------------------------------------

    def _add(self, uid: str, pod: dict, node_name: str) -> None:
        requests = pod_requests(pod)
        self._pods[uid] = _PodState(pod, node_name, requests)
        self._count_affinity(pod, node_name, +1)
        ni = self._get(node_name)
        ports = host_ports(pod)
        self._put(self._copy(ni, pods=ni.pods + [pod],
                             requested=_plus(ni.requested, requests),
                             used_ports=ni.used_ports.union(ports) if ports else ni.used_ports))

    def _remove(self, uid: str) -> None:
        state = self._pods.pop(uid)
        self._count_affinity(state.pod, state.node, -1)
        self._assumed.discard(uid)
        self._binding_finished.discard(uid)
        ni = self._get(state.node)
        # The cached object itself is in ni.pods: find it by identity, not by uid.
        pods = [p for p in ni.pods if p is not state.pod]
        ports = _ports_of(pods) if host_ports(state.pod) else ni.used_ports
        self._put(self._copy(ni, pods=pods, requested=_minus(ni.requested, state.requests),
                             used_ports=ports))

    def _replace(self, uid: str, state: _PodState, pod: dict) -> None:
        requests = pod_requests(pod)
        self._pods[uid] = _PodState(pod, state.node, requests)
        self._count_affinity(state.pod, state.node, -1)
        self._count_affinity(pod, state.node, +1)
        ni = self._get(state.node)
        pods = [pod if p is state.pod else p for p in ni.pods]
        requested = (ni.requested if requests == state.requests
                     else _plus(_minus(ni.requested, state.requests), requests))
        ports = (ni.used_ports if set(host_ports(pod)) == set(host_ports(state.pod))
                 else _ports_of(pods))
        self._put(self._copy(ni, pods=pods, requested=requested, used_ports=ports))

    def _get(self, name: str) -> NodeInfo:
        ni = self._nodes.get(name) or self._hidden.get(name)
        if ni is None:
            # A pod for a node not seen yet: count it on a hidden NodeInfo, adopted by
            # add_node when the Node arrives.
            ni = self._hidden[name] = NodeInfo({"metadata": {"name": name}})
        return ni

    def _put(self, ni: NodeInfo) -> None:
        name = ni.name
        if name not in self._nodes:
            if ni.pods:
                self._hidden[name] = ni
            else:
                self._hidden.pop(name, None)     # a removed node's last pod went
            return
        self._nodes[name] = ni
        if self._list is not None:
            if self._list_shared:        # someone holds the old list: leave it as it was
                self._list = list(self._list)
                self._list_shared = False
            self._list[self._index[name]] = ni

    def _copy(self, ni: NodeInfo, **changes) -> NodeInfo:
        self.generation += 1
        fields = dict(node=ni.node, pods=ni.pods, requested=ni.requested,
                      allocatable=ni.allocatable, used_ports=ni.used_ports)
        fields.update(changes)
        return NodeInfo(generation=self.generation, **fields)


def _ports_of(pods: list) -> set:
    """The host ports in use on a node (recomputed, as two pods bound without the
    scheduler may claim the same one: removing one must not free it)."""
    return {port for pod in pods for port in host_ports(pod)}


def _plus(a: Resources, b: Resources) -> Resources:
    r = Resources(a.milli_cpu, a.memory, a.ephemeral_storage, a.pods, dict(a.scalar))
    r.add(b)
    return r


def _minus(a: Resources, b: Resources) -> Resources:
    r = Resources(a.milli_cpu, a.memory, a.ephemeral_storage, a.pods, dict(a.scalar))
    r.subtract(b)
    return r


def _uid(pod: dict) -> str:
    uid = (pod.get("metadata") or {}).get("uid")
    if not uid:
        raise ValueError(f"cannot get cache key for pod {_name(pod)} with empty UID")
    return uid


def _name(pod: dict) -> str:
    meta = pod.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"
