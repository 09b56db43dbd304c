"""What `minik8s up / down / status / chaos` do (the CLI in `minik8s/cli/main.py` only
parses the command line and calls these).

`kind create cluster` starts a control plane, waits until it is ready and merges a
context into `~/.kube/config`; `kind delete cluster` stops it and removes the context.
minik8s does the same with one background process, the control-plane host
(`controlplane.py`):

- `up` starts the host **detached** (its own session, output to `controlplane.log`),
  so it outlives the shell that typed `minik8s up`, and returns only once `/healthz`
  answers. If it does not answer in time, `up` kills what it started, shows the end of
  the log and fails: nothing is left running. A second `up` while the host runs changes
  nothing; after a crash it starts a new host over the same store.
- `down` stops the host by the pid recorded in `state.json`, **only after checking**
  that this pid is still our host (its command line names the host module and this data
  directory): a pid reused by another program is never signalled. The store stays:
  the next `up` finds every object.
- `status` says what runs; `chaos kill apiserver` SIGKILLs the host, as a crash would.
- With nodes, `rayup.py` adds Ray: a private head, component and node actors.
Files in the data directory: `state.json` (the host's pid, url, store), `cluster.json`
(written by `up`: port, nodes, kubeconfig files), `ray.json`, logs, `store.db`.

Exit codes: 0 done, 1 failed, 2 not available / bad request, 3 not running (`status`).
"""
from __future__ import annotations

import os
import signal
import sys

from minik8s.api.clock import Clock, RealClock
from minik8s.api.meta import rfc3339

from .controlplane import LOG_FILE, STATE_FILE, write_json_atomically
from .processes import (POLL, healthy, is_our_host, kill_hard, port_free, process_alive,
                        read_json, remove_file, running_host, start_host, wait_gone)

DEFAULT_DATA_DIR = "~/.minik8s"
DEFAULT_KUBECONFIG = "~/.kube/config"
CONTEXT = "minik8s"               # cluster, user and context are all named this, as kind does
CLUSTER_FILE = "cluster.json"
DEFAULT_PORT = 6443
DEMO_TOLERATION = 5               # seconds pods tolerate an unreachable node (demos)
UP_TIMEOUT = 15.0                 # seconds for the API to answer after the host starts
DOWN_TIMEOUT = 10.0               # seconds after SIGTERM before SIGKILL
LOG_TAIL = 20                     # log lines shown when `up` fails


def _say(msg: str) -> None:
    print(msg, flush=True)


def _fail(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def data_path(data_dir: str | None) -> str:
    return os.path.abspath(os.path.expanduser(data_dir or DEFAULT_DATA_DIR))


# --- up ------------------------------------------------------------------------------

def default_kubeconfig() -> str:
    # As kind: the first file of $KUBECONFIG if set, else ~/.kube/config.
    env = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    return os.path.expanduser(env[0] if env else DEFAULT_KUBECONFIG)


def refuse(nodes: int = 0, store: str = "sqlite", address=None, etcd=None,
           runtime: str = "process", replicas: int = 1) -> str | None:
    """Why this `up` cannot be done in this release, or None."""
    if nodes < 0:
        return "minik8s up: --nodes must be 0 or more"
    if runtime not in ("process", "simulated"):
        return f"minik8s up: unknown runtime {runtime!r}: use process or simulated"
    if not 1 <= replicas <= 3:
        return "minik8s up: --control-plane-replicas must be 1, 2 or 3"
    if store == "etcd" or etcd:
        return ("minik8s up: the etcd store is not available yet; use --store sqlite "
                "(the default, durable) or --store memory")
    if store not in ("sqlite", "memory"):
        return f"minik8s up: unknown store {store!r}: use sqlite, memory or etcd"
    return None


def up(data_dir: str | None = None, port: int | None = None, nodes: int = 0,
       store: str = "sqlite", kubeconfig: str | None = None, *, host: str = "127.0.0.1",
       address: str | None = None, etcd: str | None = None, runtime: str = "process",
       node_cpu: str = "4", node_memory: str = "8Gi", control_plane_replicas: int = 1,
       default_toleration_seconds: int | None = None, timeout: float = UP_TIMEOUT,
       clock: Clock | None = None) -> int:
    """Bring the cluster up (or find it running, and add what is missing); returns an
    exit code. `port` 0 lets the host pick a free port; None re-uses the port of the
    last `up` on this data directory (so running kubelets find the API again), else
    6443. With nodes (or `address`), Ray runs the nodes and components (`rayup`)."""
    clock = clock or RealClock()
    t0 = clock.monotonic()
    why = refuse(nodes, store, address, etcd, runtime, control_plane_replicas)
    if why:
        _fail(why)
        return 2
    data_dir = data_path(data_dir)
    kubeconfig = os.path.abspath(os.path.expanduser(kubeconfig)) if kubeconfig \
        else default_kubeconfig()
    os.makedirs(data_dir, exist_ok=True)
    previous = read_json(os.path.join(data_dir, CLUSTER_FILE)) or {}
    if port is None:
        port = previous.get("port") or DEFAULT_PORT
    use_ray = nodes > 0 or bool(address)
    if default_toleration_seconds is None and use_ray:
        default_toleration_seconds = DEMO_TOLERATION
    cluster = {"nodes": nodes, "runtime": runtime, "replicas": control_plane_replicas,
               "ray": use_ray, "cpu": node_cpu, "memory": node_memory}

    # 1. Already running? Then `up` is done (it only makes sure of the kubeconfig).
    state = read_json(os.path.join(data_dir, STATE_FILE))
    if state and (live := running_host(data_dir)):
        if not healthy(live["url"]):
            _fail(f"minik8s up: a control plane (pid {live['pid']}) runs from {data_dir} "
                  f"but does not answer at {live['url']}; see {_log(data_dir)}, or "
                  f"`minik8s down --data-dir {data_dir}` to stop it")
            return 1
        _say(f"minik8s up: the control plane is already running at {live['url']} "
             f"(pid {live['pid']}, data {data_dir})")
        if use_ray and not _ray_part(data_dir, live["url"], address, cluster, clock):
            return 1
        return 0 if _write_kubeconfig(data_dir, kubeconfig, live["url"], cluster) else 1
    if state:
        _say(f" * the previous control plane (pid {state.get('pid')}) is gone; "
             "starting a new one over its store")
        remove_file(os.path.join(data_dir, STATE_FILE))

    # 2. The port: a clear message now beats a traceback in the log later.
    if port and not port_free(host, port):
        _fail(f"minik8s up: port {port} on {host} is already in use by another program; "
              f"choose another with --port")
        return 1

    # 3. Start the host, detached, and wait until its API answers.
    what = f"{nodes} nodes, {runtime} runtime" if nodes else "control plane only"
    _say(f"Starting minik8s ({what}, store: {store}, data: {data_dir}) ...")
    proc, log_offset = _start_host(data_dir, host, port, store, default_toleration_seconds,
                                   clock, components=not use_ray)
    _say(f" * control-plane host started (pid {proc.pid}, log {_log(data_dir)})")
    started = clock.monotonic()
    url, problem = _wait_ready(proc, data_dir, timeout, clock)
    if url is None:
        _abort(proc.pid, data_dir, clock)
        _fail(f"minik8s up: {problem}; nothing is left running. "
              f"Last lines of {_log(data_dir)}:")
        _fail(_log_tail(data_dir, log_offset))
        return 1
    _say(f" * API server answering at {url} ({clock.monotonic() - started:.1f} s)")
    if store == "memory":
        _say(" * store: memory (objects are lost when the control plane stops)")
    else:
        _say(f" * store: {os.path.join(data_dir, 'store.db')} (kept by `minik8s down`)")

    # 4. Ray: components and nodes (re-attached if they still run).
    if use_ray and not _ray_part(data_dir, url, address, cluster, clock):
        _abort(proc.pid, data_dir, clock)
        _fail("minik8s up: stopped the control plane again; nothing is left running")
        return 1

    # 5. The kubeconfig context, then what to do next.
    if not _write_kubeconfig(data_dir, kubeconfig, url, cluster):
        from . import rayup
        rayup.stop(data_dir, None, clock)
        _abort(proc.pid, data_dir, clock)
        _fail("minik8s up: stopped the control plane again; nothing is left running")
        return 1
    first = ("kubectl run hello --image=minik8s/hello:v1 && kubectl get pods -o wide"
             if nodes else "kubectl get ns")
    _say(f"\nReady ({clock.monotonic() - t0:.1f} s). Try:\n"
         f"  kubectl config use-context {CONTEXT}\n  {first}\n"
         f"  minik8s status --data-dir {data_dir}\n"
         f"  minik8s down --data-dir {data_dir}")
    return 0


def _ray_part(data_dir: str, url: str, address, cluster: dict, clock: Clock) -> bool:
    """Ray, components and nodes; on failure everything Ray-side is stopped again."""
    from . import rayup
    try:
        record = rayup.ensure_ray(data_dir, address, clock)
        cluster["address"] = record["address"]
        problem = rayup.start_actors(url, data_dir, nodes=cluster["nodes"],
                                     runtime=cluster["runtime"], cpu=cluster["cpu"],
                                     memory=cluster["memory"],
                                     replicas=cluster["replicas"], clock=clock)
    except Exception as e:          # Ray would not start, an actor would not build, ...
        problem = f"{type(e).__name__}: {e}"
    if problem:
        _fail(f"minik8s up: {problem}")
        rayup.stop(data_dir, None, clock)
        return False
    return True


def _abort(pid: int, data_dir: str, clock: Clock) -> None:
    """Undo a failed `up`: kill the host it started and the state that host wrote."""
    kill_hard(pid, clock)
    state = read_json(os.path.join(data_dir, STATE_FILE))
    if state and state.get("pid") == pid:
        remove_file(os.path.join(data_dir, STATE_FILE))


def _log(data_dir: str) -> str:
    return os.path.join(data_dir, LOG_FILE)


def _start_host(data_dir, host, port, store, toleration, clock, components=True) -> tuple:
    """Start the host; returns it and where its part of the log begins."""
    args = ["--data-dir", data_dir, "--port", str(port), "--host", host, "--store", store]
    if not components:                  # they run as Ray actors
        args += ["--components", ""]
    if toleration is not None:
        args += ["--default-toleration-seconds", str(toleration)]
    with open(_log(data_dir), "ab") as logf:
        offset = logf.tell()
        logf.write(f"--- minik8s up at {rfc3339(clock.now())}: {' '.join(args)}\n".encode())
        logf.flush()
        proc = start_host(args, data_dir, logf)
    return proc, offset


def _wait_ready(proc, data_dir, timeout, clock) -> tuple[str | None, str]:
    """(url, "") once the host has written its state and /healthz answers, or
    (None, why) when it exits or the deadline passes."""
    deadline = clock.monotonic() + timeout
    while True:
        code = proc.poll()
        if code is not None:
            return None, f"the control plane exited during start-up (exit code {code})"
        state = read_json(os.path.join(data_dir, STATE_FILE))
        if state and state.get("pid") == proc.pid and healthy(state["url"]):
            return state["url"], ""
        if clock.monotonic() >= deadline:
            return None, f"the API server did not answer within {timeout:g} s"
        clock.sleep(POLL)


def _log_tail(data_dir: str, offset: int = 0) -> str:
    try:
        with open(_log(data_dir), "rb") as f:
            f.seek(offset)
            lines = f.read().decode(errors="replace").splitlines()
    except OSError:
        return "  (no log)"
    return "\n".join("  " + line for line in lines[-LOG_TAIL:]) or "  (empty log)"


def _write_kubeconfig(data_dir: str, kubeconfig: str, url: str, cluster: dict) -> bool:
    """Merge the "minik8s" context into `kubeconfig` and record the file for `down`."""
    from minik8s.client.kubeconfig import merge_context
    try:
        merge_context(kubeconfig, name=CONTEXT, server=url, namespace="default")
    except Exception as e:          # unreadable YAML, no permission, a directory, ...
        _fail(f"minik8s up: could not write the kubeconfig {kubeconfig}: {e}")
        return False
    record = read_json(os.path.join(data_dir, CLUSTER_FILE)) or {}
    files = [f for f in record.get("kubeconfigs", []) if f != kubeconfig] + [kubeconfig]
    port = int(url.rsplit(":", 1)[1])
    write_json_atomically(os.path.join(data_dir, CLUSTER_FILE),
                          {"context": CONTEXT, "kubeconfigs": files, "port": port, **cluster})
    _say(f' * kubeconfig: context "{CONTEXT}" in {kubeconfig}')
    return True


# --- down, status, chaos ---------------------------------------------------------------

def down(data_dir: str | None = None, *, clock: Clock | None = None) -> int:
    """Stop what `up` started; keep the store. Nothing running is not an error."""
    clock = clock or RealClock()
    data_dir = data_path(data_dir)
    state = read_json(os.path.join(data_dir, STATE_FILE))
    record = read_json(os.path.join(data_dir, CLUSTER_FILE))
    if state is None and record is None:
        _say(f"minik8s down: nothing is running from {data_dir}")
        return 0
    if os.path.exists(os.path.join(data_dir, "ray.json")):
        from . import rayup
        rayup.stop(data_dir, record, clock)
    pid = (state or {}).get("pid")
    if state is None:
        _say("minik8s down: no control plane was running")
    elif not isinstance(pid, int) or not process_alive(pid):
        _say(f"minik8s down: the control plane (pid {pid}) had already stopped")
    elif not is_our_host(pid, data_dir):
        _say(f"minik8s down: pid {pid} is no longer a minik8s control plane; "
             "not signalling it, only removing the stale record")
    else:
        os.kill(pid, signal.SIGTERM)
        if wait_gone(pid, DOWN_TIMEOUT, clock):
            _say(f"minik8s down: stopped the control plane (pid {pid})")
        else:
            kill_hard(pid, clock)
            _say(f"minik8s down: the control plane (pid {pid}) ignored SIGTERM for "
                 f"{DOWN_TIMEOUT:g} s; killed it")
    remove_file(os.path.join(data_dir, STATE_FILE))
    _remove_contexts(record)
    remove_file(os.path.join(data_dir, CLUSTER_FILE))
    if os.path.exists(os.path.join(data_dir, "store.db")):
        _say(f"minik8s down: the store stays in {os.path.join(data_dir, 'store.db')}: "
             "the next `minik8s up` finds every object")
    return 0


def _remove_contexts(record: dict | None) -> None:
    if not record:
        return
    from minik8s.client.kubeconfig import remove_context
    for path in record.get("kubeconfigs", []):
        try:
            if remove_context(path, record.get("context", CONTEXT)):
                _say(f'minik8s down: removed context "{CONTEXT}" from {path}')
        except Exception as e:      # a missing or edited file must not block `down`
            _fail(f"minik8s down: could not remove the context from {path}: {e}")


def status(data_dir: str | None = None) -> int:
    """0: running and healthy; 1: running but not answering; 3: not running."""
    data_dir = data_path(data_dir)
    state = read_json(os.path.join(data_dir, STATE_FILE))
    live = running_host(data_dir) if state else None
    from . import rayup
    ray_lines = rayup.status_lines(data_dir, live["url"] if live else None)
    if live is None:
        if state:
            _say(f"control plane: not running (the host recorded in {STATE_FILE}, pid "
                 f"{state.get('pid')}, no longer runs: it crashed or was killed; "
                 "`minik8s up` restarts it over its store)")
        else:
            _say(f"control plane: not running (data dir {data_dir})")
        _say("\n".join(ray_lines))
        return 3
    ok = healthy(live["url"])
    _say(f"control plane: running (pid {live['pid']}, since {live.get('startedAt')}), "
         + ("healthy" if ok else "NOT answering /healthz"))
    _say(f"  url:        {live['url']}")
    _say(f"  components: {', '.join(live.get('components', ['apiserver']))}")
    _say(f"  store:      {_describe_store(live)}")
    _say(f"  log:        {_log(data_dir)}")
    _say("\n".join(ray_lines))
    return 0 if ok else 1


def _describe_store(state: dict) -> str:
    path = state.get("storeFile")
    if not path:
        return f"{state.get('store')} (not durable)"
    size = sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))
    return f"sqlite {path} ({size / 1024:.0f} KiB)"


COMPONENTS = ("apiserver", "scheduler", "controller-manager")


def chaos_kill(data_dir: str | None, component: str, *, clock: Clock | None = None) -> int:
    """Kill a control-plane component the way a crash would (SIGKILL, no clean-up)."""
    clock = clock or RealClock()
    data_dir = data_path(data_dir)
    if component != "apiserver":
        if not os.path.exists(os.path.join(data_dir, "ray.json")):
            _fail(f"minik8s chaos: without nodes, the {component} is a thread of the "
                  "control-plane host; `minik8s chaos kill apiserver` kills that host")
            return 2
        from . import rayup
        problem = rayup.kill_component(data_dir, component, clock)
        if problem:
            _fail(f"minik8s chaos: {problem}")
            return 3
        return 0
    live = running_host(data_dir)
    if live is None:
        _fail(f"minik8s chaos: no control plane is running from {data_dir}")
        return 3
    kill_hard(live["pid"], clock)
    _say(f"minik8s chaos: killed the control-plane host (pid {live['pid']}) with SIGKILL, "
         "as a crash would. `minik8s up` brings it back with every acknowledged object.")
    return 0


def chaos_kill_node(data_dir: str | None, name: str) -> int:
    """Kill a node's actor (its kubelet and containers die; its Lease stops)."""
    data_dir = data_path(data_dir)
    from . import rayup
    problem = rayup.kill_node(data_dir, name)
    if problem:
        _fail(f"minik8s chaos: kill-node {name}: {problem}")
        return 3
    _say(f"minik8s chaos: killed node {name} (its actor, kubelet and containers), as a "
         "crashed machine; its Lease is no longer renewed")
    return 0
