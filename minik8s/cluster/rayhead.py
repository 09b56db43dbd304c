"""A private Ray head for one minik8s cluster: start it, connect to it, stop it.

Kubernetes nodes are machines; minik8s nodes are Ray actors, so a cluster needs a Ray
cluster under it. Unless `minik8s up --address` names an existing one, `up` starts a
**private head** for this cluster only (ray-notes, "A private Ray head"):

    python -m ray.scripts.scripts start --head --block --port P --temp-dir /tmp/mk8s-XXXX
        --num-cpus C --include-dashboard=false --disable-usage-stats ...

in its own session (`setsid`), so its process group can be stopped as a whole, and
recorded in the data directory (`ray.json`: address, pid, temp dir). Pitfalls this
module exists to avoid:

- `ray stop` stops *every* Ray on the machine, and `address="auto"` may join someone
  else's cluster: neither is ever used. The head is stopped by its recorded process
  group, and only after checking that the pid still runs `ray ... start --head` with
  our temp dir (a recycled pid is never signalled).
- Ray's Unix sockets need paths under 107 bytes: the temp dir is short, under /tmp,
  one per cluster (so no other `ray.init()` finds this cluster's session file).
- Token authentication is on by default in this Ray line and every process of a
  cluster must agree: `RAY_AUTH_MODE=disabled` is set for the head and for every
  driver this module connects (a loopback-only, single-user cluster).
- SIGTERM to a head that still hosts detached actors makes it drain for 30 s: `down`
  kills the cluster's actors first (`raynodes.kill_all`), then stops the head.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from typing import Optional

from minik8s.api.clock import Clock

from .processes import cmdline, process_alive, wait_gone

RAY_FILE = "ray.json"
RAY_NAMESPACE_PREFIX = "minik8s-"
OBJECT_STORE_BYTES = 80 * 1024 * 1024     # the default (30 % of RAM) is far too much
HEAD_TIMEOUT = 30.0                       # seconds for a new head to accept connections
# Lose a Ray node in ~1.5 s instead of ~16 s (ray-notes, "Failure").
SYSTEM_CONFIG = ('{"health_check_period_ms": 500, "health_check_failure_threshold": 3, '
                 '"health_check_timeout_ms": 500, "health_check_initial_delay_ms": 0}')


def ray_env() -> dict:
    env = dict(os.environ)
    env["RAY_AUTH_MODE"] = "disabled"
    env.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_head(log_path: str, clock: Clock, *, num_cpus: Optional[int] = None,
               timeout: float = HEAD_TIMEOUT) -> dict:
    """Start a private head; returns its record once its GCS port accepts
    connections. Raises RuntimeError (after killing what it started) otherwise."""
    port = _free_port()
    return _start_node(["--head", "--port", str(port), "--num-cpus",
                        str(num_cpus if num_cpus is not None else os.cpu_count() or 1),
                        "--include-dashboard=false", "--system-config", SYSTEM_CONFIG],
                       {"address": f"127.0.0.1:{port}"}, "the Ray head", log_path, clock,
                       timeout)


def start_worker(address: str, log_path: str, clock: Clock, *, num_cpus: int = 1,
                 timeout: float = HEAD_TIMEOUT) -> dict:
    """Join one more Ray node to the cluster at `address` (a second "machine" on this
    one: tests of node spreading). Returns a record `stop_head` can stop (a worker is
    recognised by its temp dir alone: it has no "--head")."""
    return _start_node(["--address", address, "--num-cpus", str(num_cpus)],
                       {"address": address, "worker": True}, "the Ray worker node",
                       log_path, clock, timeout)


def _start_node(args: list, record: dict, what: str, log_path: str, clock: Clock,
                timeout: float) -> dict:
    """`ray start --block ARGS` in its own session, with its own short temp dir; the
    record once its raylet (and, for a head, its GCS port) is up."""
    temp_dir = tempfile.mkdtemp(prefix="mk8s-", dir="/tmp")
    argv = [sys.executable, "-m", "ray.scripts.scripts", "start", "--block", *args,
            "--node-ip-address", "127.0.0.1", "--temp-dir", temp_dir,
            "--disable-usage-stats", "--object-store-memory", str(OBJECT_STORE_BYTES)]
    with open(log_path, "ab") as logf:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf,
                                stderr=subprocess.STDOUT, env=ray_env(),
                                start_new_session=True)
    from .processes import STARTED
    STARTED[proc.pid] = proc
    record = {**record, "pid": proc.pid, "tempDir": temp_dir, "started": True}
    host, _, port = record["address"].rpartition(":")
    deadline = clock.monotonic() + timeout
    while clock.monotonic() < deadline:
        if proc.poll() is not None:
            stop_head(record, clock)
            raise RuntimeError(f"{what} exited during start-up (exit code "
                               f"{proc.returncode}); see {log_path}")
        if _raylet_up(temp_dir) and (record.get("worker") or _accepts(host, int(port))):
            return record
        clock.sleep(0.1)
    stop_head(record, clock)
    raise RuntimeError(f"{what} did not start within {timeout:g} s; see {log_path}")


def reachable(address: str) -> bool:
    """Does something accept TCP connections at `address` ("host:port")?"""
    host, _, port = address.rpartition(":")
    return port.isdigit() and _accepts(host or "127.0.0.1", int(port), timeout=2.0)


def _accepts(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _raylet_up(temp_dir: str) -> bool:
    # The raylet's socket appears once the node has joined: ray.init works from then on.
    sockets = os.path.join(temp_dir, "session_latest", "sockets")
    return os.path.exists(os.path.join(sockets, "raylet"))


def is_our_head(record: dict) -> bool:
    pid = record.get("pid")
    if not isinstance(pid, int) or not process_alive(pid):
        return False
    args = cmdline(pid) or []
    return ("--head" in args or record.get("worker", False)) and \
        record.get("tempDir") in args


def descendants(pid: int) -> list:
    """Every process below `pid` (children, their children, ...), from /proc."""
    children: dict = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def stop_head(record: dict, clock: Clock, timeout: float = 2.0) -> bool:
    """Stop the head and every process under it: SIGTERM to its process group, then
    after `timeout` SIGKILL to the group and to each descendant (Ray's workers run in
    process groups of their own); wait until all are gone; remove its temp dir. True
    if nothing of it runs any more."""
    pid = record.get("pid")
    procs: list = []
    if isinstance(pid, int) and is_our_head(record):
        procs = [pid] + descendants(pid)
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        if not wait_gone(pid, timeout, clock):
            _kill(pid, group=True)
        for p in procs:
            _kill(p)
        for p in procs:
            wait_gone(p, 10.0, clock)
    if record.get("tempDir", "").startswith("/tmp/mk8s-"):
        shutil.rmtree(record["tempDir"], ignore_errors=True)
    return not any(process_alive(p) for p in procs)


def _kill(pid: int, group: bool = False) -> None:
    try:
        if group:
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def namespace_for(data_dir: str) -> str:
    """The Ray namespace of the cluster whose data lives in `data_dir`: several
    clusters can share one Ray cluster without their actor names colliding."""
    import hashlib
    return RAY_NAMESPACE_PREFIX + hashlib.sha1(data_dir.encode()).hexdigest()[:12]


_connected: Optional[str] = None


def connect(address: str) -> None:
    """Make this process a driver of the Ray cluster at `address` (once; switching
    to another address shuts the old connection down first)."""
    global _connected
    import ray
    if ray.is_initialized() and _connected == address:
        return
    if ray.is_initialized():
        ray.shutdown()
    if not reachable(address):        # ray.init would retry for minutes
        raise RuntimeError(f"no Ray cluster answers at {address}")
    os.environ["RAY_AUTH_MODE"] = "disabled"
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import logging
    ray.init(address=address, namespace="minik8s", log_to_driver=False,
             logging_level=logging.ERROR, configure_logging=False)
    _connected = address


def disconnect() -> None:
    global _connected
    import ray
    if ray.is_initialized():
        ray.shutdown()
    _connected = None
