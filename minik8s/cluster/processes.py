"""The control-plane host seen from outside: start it, find it, check it, stop it.

kind finds its clusters by asking Docker for containers with its label; minik8s finds
its control-plane host through the data directory: the host records its pid and URL
in `state.json`. A recorded pid is only a hint — the process may have crashed, and
the kernel may have given the pid to another program since. So nothing here signals a
pid without first checking that it still is **our host for this data directory**: its
command line names the host module and this `--data-dir` (`is_our_host`).

Pitfall: a process that has exited but was not reaped by its parent (a zombie) still
answers `kill(pid, 0)`. `process_alive` reads its state in `/proc` and reaps the
hosts this process started itself (`STARTED`).
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request

from minik8s.api.clock import Clock

from .controlplane import MODULE, STATE_FILE

POLL = 0.05                       # seconds between checks while waiting on a process
KILL_TIMEOUT = 10.0               # seconds for a SIGKILLed process to disappear
PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Hosts started by this process. The CLI exits right after `up` and the host is
# re-parented to init; a long-lived caller (a test, a notebook) keeps the Popen here so
# the host can be reaped once stopped, instead of lingering as a zombie.
STARTED: dict[int, subprocess.Popen] = {}


def read_json(path: str) -> dict | None:
    """The JSON object in `path`, or None if it is missing or not an object."""
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def remove_file(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def start_host(args: list, data_dir: str, logf) -> subprocess.Popen:
    """Start `python -m minik8s.cluster.controlplane ARGS`, detached, output to `logf`."""
    env = dict(os.environ)
    # Importable from a checkout as well as from an installed package.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
    # start_new_session: no controlling terminal and its own process group, so a ^C in,
    # or the closing of, the shell that ran `up` does not reach the host.
    proc = subprocess.Popen([sys.executable, "-m", MODULE, *args], stdin=subprocess.DEVNULL,
                            stdout=logf, stderr=subprocess.STDOUT, cwd=data_dir, env=env,
                            start_new_session=True)
    STARTED[proc.pid] = proc
    return proc


def cmdline(pid: int) -> list[str] | None:
    """The arguments `pid` runs with, or None if there is no such process."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except FileNotFoundError:
        if os.path.isdir("/proc"):
            return None
    except OSError:
        return None
    # No /proc (macOS): ask ps. Arguments with spaces are ambiguous there, so this is
    # a looser check (the module and the data directory both appear).
    out = subprocess.run(["ps", "-o", "command=", "-p", str(pid)],
                         capture_output=True, text=True)
    return out.stdout.split() if out.returncode == 0 else None


def is_our_host(pid: int, data_dir: str) -> bool:
    """Is `pid` the control-plane host of this data directory (not a recycled pid)?"""
    args = cmdline(pid)
    if not args or MODULE not in args:
        return False
    if "--data-dir" in args[:-1]:
        return os.path.abspath(args[args.index("--data-dir") + 1]) == data_dir
    return data_dir in args


def process_alive(pid: int) -> bool:
    """True while `pid` runs. A zombie (exited, not yet reaped) counts as gone."""
    proc = STARTED.get(pid)
    if proc is not None:
        if proc.poll() is None:
            return True
        del STARTED[pid]
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return True


def running_host(data_dir: str) -> dict | None:
    """The recorded state of this data directory's host if that host runs, else None."""
    state = read_json(os.path.join(data_dir, STATE_FILE))
    pid = state.get("pid") if state else None
    if isinstance(pid, int) and process_alive(pid) and is_our_host(pid, data_dir):
        return state
    return None


def healthy(url: str, timeout: float = 0.5) -> bool:
    """Does the API server at `url` answer `GET /healthz` with `ok`?"""
    # No proxies: an http_proxy in the environment must not see loopback requests.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url + "/healthz", timeout=timeout) as r:
            return r.status == 200 and r.read() == b"ok"
    except OSError:
        return False


def port_free(host: str, port: int) -> bool:
    # SO_REUSEADDR as the API server sets it: a port in TIME_WAIT is free for it too.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def wait_gone(pid: int, timeout: float, clock: Clock) -> bool:
    """Wait until `pid` has exited; False if it still runs after `timeout` seconds."""
    deadline = clock.monotonic() + timeout
    while process_alive(pid):
        if clock.monotonic() >= deadline:
            return False
        clock.sleep(POLL)
    return True


def kill_hard(pid: int, clock: Clock) -> bool:
    """SIGKILL the host and its process group (it leads one: its own session); wait."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return wait_gone(pid, KILL_TIMEOUT, clock)
