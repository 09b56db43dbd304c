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

Files in the data directory: `state.json` (written by the host once it serves: pid,
url, store), `cluster.json` (written by `up`: the kubeconfig files it changed),
`controlplane.log`, `store.db`.

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


def refuse(nodes: int = 0, store: str = "sqlite", address=None, etcd=None) -> str | None:
    """Why this `up` cannot be done in this release, or None."""
    if nodes < 0:
        return "minik8s up: --nodes must be 0 or more"
    if nodes > 0:
        return "minik8s up: nodes arrive in a later release; use --nodes 0"
    if address:
        return ("minik8s up: --address (an existing Ray cluster) arrives with nodes in a "
                "later release; with --nodes 0 no Ray is used")
    if store == "etcd" or etcd:
        return ("minik8s up: the etcd store is not available yet; use --store sqlite "
                "(the default, durable) or --store memory")
    if store not in ("sqlite", "memory"):
        return f"minik8s up: unknown store {store!r}: use sqlite, memory or etcd"
    return None


def up(data_dir: str | None = None, port: int = 6443, nodes: int = 0, store: str = "sqlite",
       kubeconfig: str | None = None, *, host: str = "127.0.0.1", address: str | None = None,
       etcd: str | None = None, default_toleration_seconds: int | None = None,
       timeout: float = UP_TIMEOUT, clock: Clock | None = None) -> int:
    """Bring the control plane up (or find it running); returns an exit code.
    `port` 0 lets the host pick a free port (the URL is read back from its state)."""
    clock = clock or RealClock()
    why = refuse(nodes, store, address, etcd)
    if why:
        _fail(why)
        return 2
    data_dir = data_path(data_dir)
    kubeconfig = os.path.abspath(os.path.expanduser(kubeconfig)) if kubeconfig \
        else default_kubeconfig()
    os.makedirs(data_dir, exist_ok=True)

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
        return 0 if _write_kubeconfig(data_dir, kubeconfig, live["url"]) else 1
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
    _say(f"Starting minik8s (control plane only, store: {store}, data: {data_dir}) ...")
    proc, log_offset = _start_host(data_dir, host, port, store, default_toleration_seconds,
                                   clock)
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

    # 4. The kubeconfig context, then what to do next.
    if not _write_kubeconfig(data_dir, kubeconfig, url):
        _abort(proc.pid, data_dir, clock)
        _fail("minik8s up: stopped the control plane again; nothing is left running")
        return 1
    _say(f"\nReady. Try:\n  kubectl --context {CONTEXT} get ns\n"
         f"  minik8s status --data-dir {data_dir}\n"
         f"  minik8s down --data-dir {data_dir}")
    return 0


def _abort(pid: int, data_dir: str, clock: Clock) -> None:
    """Undo a failed `up`: kill the host it started and the state that host wrote."""
    kill_hard(pid, clock)
    state = read_json(os.path.join(data_dir, STATE_FILE))
    if state and state.get("pid") == pid:
        remove_file(os.path.join(data_dir, STATE_FILE))


def _log(data_dir: str) -> str:
    return os.path.join(data_dir, LOG_FILE)


def _start_host(data_dir, host, port, store, toleration, clock) -> tuple:
    """Start the host; returns it and where its part of the log begins."""
    args = ["--data-dir", data_dir, "--port", str(port), "--host", host, "--store", store]
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


def _write_kubeconfig(data_dir: str, kubeconfig: str, url: str) -> bool:
    """Merge the "minik8s" context into `kubeconfig` and record the file for `down`."""
    from minik8s.client.kubeconfig import merge_context
    try:
        merge_context(kubeconfig, name=CONTEXT, server=url, namespace="default")
    except Exception as e:          # unreadable YAML, no permission, a directory, ...
        _fail(f"minik8s up: could not write the kubeconfig {kubeconfig}: {e}")
        return False
    record = read_json(os.path.join(data_dir, CLUSTER_FILE)) or {}
    files = [f for f in record.get("kubeconfigs", []) if f != kubeconfig] + [kubeconfig]
    write_json_atomically(os.path.join(data_dir, CLUSTER_FILE),
                          {"context": CONTEXT, "kubeconfigs": files, "nodes": 0})
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
    if live is None:
        if state:
            _say(f"control plane: not running (the host recorded in {STATE_FILE}, pid "
                 f"{state.get('pid')}, no longer runs: it crashed or was killed; "
                 "`minik8s up` restarts it over its store)")
        else:
            _say(f"control plane: not running (data dir {data_dir})")
        _say("nodes: none")
        return 3
    ok = healthy(live["url"])
    _say(f"control plane: running (pid {live['pid']}, since {live.get('startedAt')}), "
         + ("healthy" if ok else "NOT answering /healthz"))
    _say(f"  url:        {live['url']}")
    _say(f"  components: {', '.join(live.get('components', ['apiserver']))}")
    _say(f"  store:      {_describe_store(live)}")
    _say(f"  log:        {_log(data_dir)}")
    _say("nodes: none")
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
        _fail(f"minik8s chaos: kill {component} is not available until the controllers "
              "exist (a later release); `kill apiserver` works today")
        return 2
    live = running_host(data_dir)
    if live is None:
        _fail(f"minik8s chaos: no control plane is running from {data_dir}")
        return 3
    kill_hard(live["pid"], clock)
    _say(f"minik8s chaos: killed the control-plane host (pid {live['pid']}) with SIGKILL, "
         "as a crash would. `minik8s up` brings it back with every acknowledged object.")
    return 0


def chaos_kill_node(data_dir: str | None, name: str) -> int:
    _fail(f"minik8s chaos: kill-node {name}: not available until nodes exist "
          "(a later release)")
    return 2
