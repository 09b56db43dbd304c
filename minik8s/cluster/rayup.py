"""The Ray half of `minik8s up / down / status / chaos` (DESIGN.md §8).

`bringup.py` starts the control-plane host (the API server over the store); when the
cluster has nodes, or `--address` names a Ray cluster, this module does the rest:

1. **Ray**: `--address` -> connect to it (never stopped by `down`); otherwise a
   private head recorded in `ray.json` (re-used by a later `up` while it runs).
2. **Components**: `scheduler-<i>` and `controller-manager-<i>` actors for
   i < `--control-plane-replicas`, restartable, with Leases deciding who acts.
3. **Nodes**: `node-<name>` actors (`node-1` ... `node-N`), or host actors for the
   simulated runtime; `up` waits until each kubelet has registered and every Node
   reports `Ready=True`.

Every step is idempotent: what already runs in the cluster's Ray namespace is kept.
That is how `up` after a control-plane crash **re-attaches**: the node actors never
stopped, so no container restarts; their kubelets reconnect to the new API server,
which `bringup` starts on the port recorded in `cluster.json`.

`down` kills the cluster's actors (a clean `shutdown()` first, so containers stop),
then the private head by its process group — never `ray stop`.
"""
from __future__ import annotations

import importlib.util
import os
from typing import Optional

from minik8s.api.clock import Clock
from minik8s.api.meta import get_path

from . import rayhead
from .processes import read_json, remove_file
from .controlplane import write_json_atomically

NODE_READY_TIMEOUT = 60.0
# Demo timers: heartbeats every 2 s, so the node lifecycle controller notices a silent
# (hung) node after 8 s instead of Kubernetes' 50 s.
DEMO_HEARTBEAT, SIM_HEARTBEAT = 2.0, 10.0
DEMO_GRACE, SIM_GRACE = 8.0, 40.0


def _say(msg: str) -> None:
    print(msg, flush=True)


def components_available() -> list:
    kinds = ["scheduler"]
    if importlib.util.find_spec("minik8s.controllers.manager") is not None:
        kinds.append("controller-manager")
    return kinds


def ensure_ray(data_dir: str, address: Optional[str], clock: Clock) -> dict:
    """Connect to the cluster's Ray (starting a private head if needed); returns the
    record kept in ray.json: {"address", "started", "pid", "tempDir"}."""
    path = os.path.join(data_dir, rayhead.RAY_FILE)
    record = read_json(path)
    if address:
        # ray.init retries an unreachable address for minutes: ask the port first.
        if not rayhead.reachable(address):
            raise RuntimeError(f"no Ray cluster answers at {address} (is `ray start "
                               "--head` running there? the address is host:port)")
        record = {"address": address, "started": False}
    elif record and record.get("started") and rayhead.is_our_head(record):
        _say(f" * Ray: the cluster's private head is running at {record['address']}")
    else:
        started = clock.monotonic()
        record = rayhead.start_head(os.path.join(data_dir, "ray.log"), clock)
        _say(f" * Ray: private head at {record['address']} (pid {record['pid']}, "
             f"{clock.monotonic() - started:.1f} s)")
    started = clock.monotonic()
    rayhead.connect(record["address"])
    write_json_atomically(path, record)
    if address:
        _say(f" * Ray: joined {address} ({clock.monotonic() - started:.1f} s)")
    return record


def start_actors(url: str, data_dir: str, *, nodes: int, runtime: str, cpu: str,
                 memory: str, replicas: int, clock: Clock,
                 timeout: float = NODE_READY_TIMEOUT) -> str:
    """Components and nodes, creating what is missing; "" or why it failed."""
    from . import raynodes
    ns = rayhead.namespace_for(data_dir)
    existing = set(raynodes.named_actors(ns))
    grace = SIM_GRACE if runtime == "simulated" else DEMO_GRACE
    # Demo timers (Kubernetes: grace 50 s, monitor period 5 s, pod GC 40 s + 20 s): a
    # killed node is seen at the next 1 s handle ping, its pods leave after the 5 s
    # DefaultTolerationSeconds `up` sets, and a vanished Node is deleted after 30 s.
    options = {"node_monitor_grace_period": grace, "node_monitor_period": 1.0,
               "dead_node_grace": max(30.0, 2 * grace), "quarantine_time": 5.0,
               "gc_check_period": 5.0}
    for kind in components_available():
        made = [i for i in range(replicas) if f"{kind}-{i}" not in existing]
        for i in made:
            raynodes.start_component(kind, i, url, ns, options)
        _say(f" * {kind}: {replicas} replica(s) as Ray actors"
             + ("" if made else " (already running)"))
    names = [f"node-{i}" for i in range(1, nodes + 1)]
    heartbeat = SIM_HEARTBEAT if runtime == "simulated" else DEMO_HEARTBEAT
    if runtime == "simulated":
        missing = names if not any(a.startswith(raynodes.HOST_PREFIX) for a in existing) else []
    else:
        missing = [n for n in names if raynodes.NODE_PREFIX + n not in existing]
    started = clock.monotonic()
    if missing:
        raynodes.start_nodes(url, missing, namespace=ns, runtime=runtime,
                             root_dir=os.path.join(data_dir, "nodes"), cpu=cpu,
                             memory=memory, heartbeat_period=heartbeat)
    actors = {n: raynodes.get_actor(n, ns) for n in raynodes.named_actors(ns)
              if n.startswith((raynodes.NODE_PREFIX, raynodes.HOST_PREFIX))}
    ready, problem = raynodes.wait_ready(actors, nodes, clock, timeout)
    if problem:
        return problem
    _say(f" * nodes: {nodes} kubelets registered ({runtime} runtime, "
         f"{len(actors)} actor(s), {clock.monotonic() - started:.1f} s)"
         + (f"; {nodes - len(missing)} re-attached" if len(missing) < nodes else ""))
    problem = wait_nodes_ready(url, names, clock, timeout, runtime == "simulated")
    if not problem:
        _say(f" * all {nodes} nodes Ready ({clock.monotonic() - started:.1f} s)")
    return problem


def wait_nodes_ready(url: str, names: list, clock: Clock, timeout: float,
                     simulated: bool = False) -> str:
    from minik8s.client.http import HTTPClient
    client = HTTPClient(url, timeout=5)
    deadline = clock.monotonic() + timeout
    want = set(names)
    while True:
        # Ready, and serving the kubelet API (so `kubectl logs` works at once).
        ready = {n["metadata"]["name"] for n in client.list("nodes").items
                 if any(c.get("type") == "Ready" and c.get("status") == "True"
                        for c in (n.get("status") or {}).get("conditions") or [])
                 and (get_path(n, "status", "daemonEndpoints", "kubeletEndpoint", "Port")
                      or simulated)}
        if want <= ready:
            return ""
        if clock.monotonic() >= deadline:
            return (f"nodes not Ready after {timeout:g} s: "
                    f"{', '.join(sorted(want - ready))}")
        clock.sleep(0.1)


def stop(data_dir: str, record: Optional[dict], clock: Clock) -> None:
    """Kill this cluster's actors and, if `up` started it, the private head."""
    path = os.path.join(data_dir, rayhead.RAY_FILE)
    ray_rec = read_json(path)
    if not ray_rec:
        return
    alive = (not ray_rec.get("started")) or rayhead.is_our_head(ray_rec)
    if alive:
        from . import raynodes
        try:
            rayhead.connect(ray_rec["address"])
            names = raynodes.kill_all(rayhead.namespace_for(data_dir))
            _say(f"minik8s down: stopped {len(names)} Ray actor(s)"
                 + (f" ({', '.join(names[:6])}{', ...' if len(names) > 6 else ''})"
                    if names else ""))
        except Exception as e:
            _say(f"minik8s down: could not reach Ray at {ray_rec['address']}: {e}")
    if ray_rec.get("started"):
        rayhead.disconnect()
        if rayhead.stop_head(ray_rec, clock):
            _say(f"minik8s down: stopped the private Ray head (pid {ray_rec.get('pid')})")
    remove_file(path)


def status_lines(data_dir: str, url: Optional[str]) -> list:
    if not os.path.exists(os.path.join(data_dir, rayhead.RAY_FILE)):
        return ["nodes: none"]
    try:
        return describe(data_dir, url)
    except Exception as e:
        return [f"ray: not reachable ({type(e).__name__}: {e})"]


def describe(data_dir: str, url: Optional[str]) -> list:
    """Lines for `minik8s status`: Ray, components, nodes."""
    ray_rec = read_json(os.path.join(data_dir, rayhead.RAY_FILE))
    if not ray_rec:
        return ["nodes: none"]
    if ray_rec.get("started") and not rayhead.is_our_head(ray_rec):
        return [f"ray: the private head (pid {ray_rec.get('pid')}) is not running",
                "nodes: unknown"]
    from . import raynodes
    rayhead.connect(ray_rec["address"])
    ns = rayhead.namespace_for(data_dir)
    lines = [f"ray: {ray_rec['address']} (namespace {ns}"
             + (", private head)" if ray_rec.get("started") else ")")]
    for name in raynodes.named_actors(ns):
        if name.startswith(("scheduler-", "controller-manager-")):
            actor = raynodes.get_actor(name, ns)
            try:
                info = raynodes.call(actor, "info", timeout=3)
                lines.append(f"  {name:24} running (pid {info['pid']})"
                             + (", leader" if info.get("leader") else ", standby"))
            except Exception as e:
                lines.append(f"  {name:24} not answering ({type(e).__name__})")
    lookup = raynodes.RayNodeLookup(ns)
    api = _node_conditions(url) if url else {}
    names = sorted(set(api) | {n[len(raynodes.NODE_PREFIX):] for n in
                               raynodes.named_actors(ns)
                               if n.startswith(raynodes.NODE_PREFIX)}, key=_natural)
    lines.append(f"nodes: {len(names)}")
    for n in names[:50]:
        handle = lookup(n)
        actor = handle.ping(2.0) if handle else "Dead (no actor)"
        lines.append(f"  {n:24} {api.get(n, 'not registered'):10} actor: {actor}")
    if len(names) > 50:
        lines.append(f"  ... and {len(names) - 50} more")
    return lines


def _natural(name: str) -> tuple:
    """node-2 before node-10."""
    import re
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name))


def _node_conditions(url: str) -> dict:
    from minik8s.client.http import HTTPClient
    try:
        items = HTTPClient(url, timeout=3).list("nodes").items
    except Exception:
        return {}
    out = {}
    for n in items:
        ready = [c.get("status") for c in (n.get("status") or {}).get("conditions") or []
                 if c.get("type") == "Ready"]
        state = {"True": "Ready", "False": "NotReady"}.get(ready[0] if ready else "", "Unknown")
        if (n.get("spec") or {}).get("unschedulable"):
            state += ",SchedulingDisabled"
        out[n["metadata"]["name"]] = state
    return out


def _join(data_dir: str, without_ray: str) -> tuple:
    """(the cluster's Ray namespace, "") once connected to its Ray, or (None, why not):
    `without_ray` when the data directory records no Ray, else what failed."""
    ray_rec = read_json(os.path.join(data_dir, rayhead.RAY_FILE))
    if not ray_rec:
        return None, without_ray
    try:
        rayhead.connect(ray_rec["address"])
    except RuntimeError as e:           # the head is gone: say so, no traceback
        return None, f"{e} (is the cluster up? `minik8s status`)"
    return rayhead.namespace_for(data_dir), ""


def kill_node(data_dir: str, name: str) -> str:
    """Kill node `name`'s actor (or its kubelet in a host actor); "" or why not."""
    ns, problem = _join(data_dir, "this cluster has no nodes (no Ray recorded in the "
                                  "data directory)")
    if problem:
        return problem
    from . import raynodes
    handle = raynodes.RayNodeLookup(ns)(name)
    if handle is None:
        return f"no node actor named {name!r} in this cluster"
    handle.kill()
    return ""


def kill_component(data_dir: str, kind: str, clock: Clock) -> str:
    """Kill the acting (leader) replica of `kind` as a crash would; Ray restarts it."""
    ns, problem = _join(data_dir, f"{kind} runs in the control-plane host here (no Ray): "
                                  "kill apiserver")
    if problem:
        return problem
    import ray
    from . import raynodes
    replicas = [n for n in raynodes.named_actors(ns) if n.startswith(kind + "-")]
    if not replicas:
        return f"no {kind} actor runs in this cluster"
    infos = {}
    for n in replicas:
        try:
            infos[n] = raynodes.call(raynodes.get_actor(n, ns), "info", timeout=3)
        except Exception:
            infos[n] = {}
    victim = next((n for n in replicas if infos[n].get("leader")), replicas[0])
    ray.kill(raynodes.get_actor(victim, ns), no_restart=False)
    _say(f"minik8s chaos: killed {victim} (pid {infos[victim].get('pid')}"
         + (", the leader" if infos[victim].get("leader") else "") + ") as a crash would")
    deadline = clock.monotonic() + 20
    while clock.monotonic() < deadline:
        try:
            info = raynodes.call(raynodes.get_actor(victim, ns), "info", timeout=2)
            if info.get("pid") != infos[victim].get("pid"):
                _say(f"minik8s chaos: Ray restarted {victim} (new pid {info['pid']})")
                return ""
        except Exception:
            pass
        clock.sleep(0.2)
    _say(f"minik8s chaos: {victim} has not come back yet")
    return ""
