"""Process groups that cannot outlive their owner (what containerd-shim + cgroups do).

In Kubernetes a container lives in a cgroup: when its node's runtime kills it, or the
machine goes down, every process in it goes. Plain processes have no such thing. A
crashed kubelet (a killed Ray actor, a SIGKILLed test) would leave its containers
running, holding ports and CPU. Two mechanisms close that gap (ray-notes "Failure"):

1. `Spawner`: one long-lived thread forks every process, each in its own session (so
   its process group is its own and can be signalled as a whole) with
   `PR_SET_PDEATHSIG(SIGKILL)`. Pitfall: the kernel sends the parent-death signal when
   the *thread* that forked the child exits, not the process; forking from whatever
   thread called `start` (an HTTP handler, say) would kill the container when that
   thread ends. Hence one thread that lives as long as the runtime.
2. `Watchdog`: a tiny separate process told every live process group ("+pgid",
   "-pgid") over a pipe. When the pipe closes, which the kernel does when the owner
   dies however it dies, it SIGKILLs every group it still knows. PDEATHSIG reaches only
   the process that was forked; the watchdog also reaches that process's children.

Processes that leave their group (setsid, double-forked daemons) escape both.
`group_usage` measures groups from /proc (a cgroup's cpu and memory stats). Linux only.
"""
from __future__ import annotations

import ctypes
import os
import queue
import signal
import subprocess
import sys
import threading
from concurrent.futures import Future

PR_SET_PDEATHSIG = 1
# Loaded now, in the parent: a forked child of a threaded process must not load libraries.
_LIBC = ctypes.CDLL(None, use_errno=True)


def _own_session_dying_with(parent_pid: int):
    def setup() -> None:                    # runs in the child, between fork and exec
        os.setsid()
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent_pid:      # the parent died before prctl took effect
            os._exit(137)
    return setup


class Spawner:
    """Runs `subprocess.Popen` on one long-lived thread; `popen` blocks until forked."""

    def __init__(self, name: str = "spawner"):
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def popen(self, argv: list, **kwargs) -> subprocess.Popen:
        """A Popen in its own session, SIGKILLed when this process dies. kwargs are
        Popen's (env, cwd, stdout, ...); stdin defaults to /dev/null."""
        if self._closed:
            raise RuntimeError("the spawner is closed")
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        done: Future = Future()
        self._requests.put((argv, kwargs, done))
        return done.result()

    def close(self) -> None:
        """Stop the thread. Pitfall: its exit fires PDEATHSIG in every process it
        forked that is still running."""
        self._closed = True
        self._requests.put(None)
        self._thread.join(timeout=5.0)

    def _loop(self) -> None:
        parent = os.getpid()
        while (request := self._requests.get()) is not None:
            argv, kwargs, done = request
            try:
                done.set_result(subprocess.Popen(argv, close_fds=True,
                                                 preexec_fn=_own_session_dying_with(parent),
                                                 **kwargs))
            except BaseException as e:      # handed to the caller, who raises it
                done.set_exception(e)


# The watchdog's whole program: keep the set of groups it is told, kill them at EOF.
WATCHDOG = """
import os, signal, sys
groups = set()
for line in sys.stdin:
    (groups.add if line[0] == "+" else groups.discard)(int(line[1:]))
for pgid in groups:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
"""


class Watchdog:
    def __init__(self):
        # Its own session: a signal to our process group (^C, killpg of a Ray worker)
        # must not take the watchdog down before it has done its job.
        self._proc = subprocess.Popen([sys.executable, "-I", "-S", "-c", WATCHDOG],
                                      stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True)
        self._lock = threading.Lock()

    @property
    def pid(self) -> int:
        return self._proc.pid

    def guard(self, pgid: int) -> None:
        self._tell(f"+{pgid}\n")

    def release(self, pgid: int) -> None:
        """Call once the group is gone (or before its pgid could be reused)."""
        self._tell(f"-{pgid}\n")

    def close(self) -> None:
        """Stop the watchdog. Closing the pipe is what the owner's death does: groups
        still guarded are SIGKILLed, so release what is already gone first."""
        with self._lock:
            try:
                self._proc.stdin.close()
            except OSError:
                pass
        self._proc.wait()

    def _tell(self, line: str) -> None:
        with self._lock:
            try:
                self._proc.stdin.write(line.encode())
                self._proc.stdin.flush()
            except (OSError, ValueError):   # the watchdog is gone or closed
                pass


def group_usage(groups: set) -> tuple:
    """(cpu seconds, resident bytes) of every process whose process group is in `groups`."""
    ticks = pages = 0
    if groups:
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[2]) in groups:        # after "(comm)": state ppid pgrp ...
                ticks += int(fields[11]) + int(fields[12])     # utime + stime
                pages += int(fields[21])                        # rss
    return ticks / os.sysconf("SC_CLK_TCK"), pages * os.sysconf("SC_PAGE_SIZE")
