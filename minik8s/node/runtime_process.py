"""ProcessRuntime: every container a real OS process (what containerd + runc do, small).

A real runtime gives each container namespaces and a cgroup. This one gives each
container a process in its own session, a directory, and its pod's loopback address:

    root_dir/pods/<pod uid>/<container>-<attempt>/container.log   CRI-format log
                                                  root/           the container's "/"

- **Images** resolve through `minik8s.images` (a Python module, or the host's sh).
- **Network**: the pod's IP (127.128.N.x) is exported as `POD_IP`; our images bind to
  it, so two pods can both listen on :8080. Linux routes all of 127/8 to loopback.
- **Environment**: the image's env, then `HOSTNAME` (the pod name), `POD_IP`,
  `MINIK8S_PORTS` (the containerPorts, comma-separated), `MINIK8S_ROOT`, `HOME`,
  `TMPDIR`, then the container's env from the pod spec (resolved by the kubelet).
- **Filesystem**: no mount namespace, so volumes and a private /tmp are an illusion:
  paths in the spec are mapped to the real files (container_fs.py).
- **Logs**: stdout and stderr go through pipes to one pump thread that writes CRI's log
  format (crilog.py). Each attempt has its own file; the previous attempt's log lives
  until that container is removed (`kubectl logs --previous`).
- **Exit**: as when a pid namespace loses its init, once the main process exits the
  rest of its process group is SIGKILLed. Exit code 0 is "Completed", others "Error";
  death by signal N is 128+N (SIGKILL 137, SIGTERM 143); a command that cannot be
  executed is "StartError" with code 128, as containerd reports it.
- **Stop**: SIGTERM to the process group, SIGKILL at the grace deadline, on the
  runtime's clock: checked by the pump (every 0.1 s while one is pending) and by
  `status`/`list`, so it holds under a FakeClock too.

No process outlives its pod or its node: see procgroup.py. Linux only.
"""
from __future__ import annotations

import hashlib
import logging
import os
import selectors
import shutil
import signal
import subprocess
import threading
from typing import Optional

from minik8s import images
from minik8s.api.clock import Clock

from .container_fs import ContainerView
from .crilog import CriLogWriter, read_cri_log
from .probe_actions import http_get, run_command, tcp_connect
from .procgroup import Spawner, Watchdog, group_usage
from .runtime import (CREATED, EXITED, RUNNING, ContainerConfig, ContainerNotFound,
                      ContainerStatus, ProbeResult)

LOG_FILE = "container.log"
log = logging.getLogger("minik8s.node.runtime_process")


class _Container:
    """The runtime's record of one container; mutable, guarded by the runtime's lock."""

    def __init__(self, cid: str, config: ContainerConfig, spec: images.ImageSpec,
                 directory: str, now: float):
        self.id, self.config, self.spec, self.dir = cid, config, spec, directory
        self.log_path = os.path.join(directory, LOG_FILE)
        self.view: Optional[ContainerView] = None
        self.state, self.proc = CREATED, None
        self.created_at, self.started_at, self.finished_at = now, None, None
        self.started_mono = 0.0
        self.exit_code: Optional[int] = None
        self.reason = self.message = ""
        self.kill_at: Optional[float] = None   # monotonic SIGKILL deadline, once stopped
        self.writer: Optional[CriLogWriter] = None
        self.streams: dict = {}                # open pipe -> "stdout" | "stderr"


class ProcessRuntime:
    name = "process"
    version = "minik8s-process://0.1"

    def __init__(self, root_dir: str, clock: Clock):
        self.root_dir = os.path.abspath(root_dir)
        self.clock = clock
        self._lock = threading.RLock()
        self._containers: dict[str, _Container] = {}
        self._serial = 0
        self._closed = False
        self._cpu_seen: dict = {}              # pod uid -> (monotonic, cpu seconds)
        os.makedirs(os.path.join(self.root_dir, "pods"), exist_ok=True)
        self._watchdog = Watchdog()
        self._spawner = Spawner("process-runtime-spawner")
        # The pump: one thread, one selector over every container's stdout/stderr pipes
        # and pidfds. Only the pump thread touches the selector; others hand it new fds
        # through `_new_fds` and wake it with a byte on the wake pipe.
        self._selector = selectors.DefaultSelector()
        self._new_fds: list = []
        self._wake_r, self._wake_w = os.pipe()
        self._selector.register(self._wake_r, selectors.EVENT_READ, ("wake", None))
        self._pump = threading.Thread(target=self._pump_loop, daemon=True,
                                      name="process-runtime-pump")
        self._pump.start()

    def pod_dir(self, pod_uid: str) -> str:
        return os.path.join(self.root_dir, "pods", pod_uid)

    # --- the CRI verbs ---------------------------------------------------------------

    def pull(self, image: str) -> str:
        return images.resolve(image).repo_digest          # raises ImagePullError

    def create(self, config: ContainerConfig) -> str:
        spec = images.resolve(config.image)
        with self._lock:
            if self._closed:
                raise RuntimeError("the runtime is shut down")
            directory = os.path.join(self.pod_dir(config.pod_uid),
                                     f"{config.name}-{config.attempt}")
            if any(c.dir == directory for c in self._containers.values()):
                raise ValueError(f'container name "{config.name}" attempt {config.attempt} '
                                 f"of pod {config.pod_uid} is already in use")
            self._serial += 1
            seed = f"{directory}#{self._serial}"
            c = _Container(hashlib.sha256(seed.encode()).hexdigest(), config, spec,
                           directory, self.clock.now())
            shutil.rmtree(directory, ignore_errors=True)   # a leftover of an earlier run
            c.view = ContainerView(os.path.join(directory, "root"), config.mounts)
            open(c.log_path, "ab").close()
            self._containers[c.id] = c
        return c.id

    def start(self, container_id: str) -> None:
        with self._lock:
            c = self._get(container_id)
            if self._closed:
                raise RuntimeError("the runtime is shut down")
            if c.state != CREATED:
                raise ValueError(f'container "{container_id}" is {c.state}, not created')
            command = c.spec.argv(c.config.command, c.config.args)
            argv, env, error = self._command_line(c, command)
            if error:
                return self._start_failed(c, error)
            try:
                proc = self._spawner.popen(argv, env=env, cwd=c.view.workdir(c.config.working_dir),
                                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            except OSError as e:
                return self._start_failed(c, f'exec: "{command[0]}": {e.strerror}')
            self._watchdog.guard(proc.pid)     # setsid: its pgid is its pid
            c.proc, c.state = proc, RUNNING
            c.started_at, c.started_mono = self.clock.now(), self.clock.monotonic()
            c.writer = CriLogWriter(c.log_path, self.clock)
            c.streams = {proc.stdout: "stdout", proc.stderr: "stderr"}
            for pipe in c.streams:
                os.set_blocking(pipe.fileno(), False)
            self._new_fds += [(pipe, ("out", c)) for pipe in c.streams]
            self._new_fds.append((os.pidfd_open(proc.pid), ("exit", c)))
        self._wake()

    def stop(self, container_id: str, grace_seconds: float) -> None:
        with self._lock:
            c = self._get(container_id)
            if c.state != RUNNING:
                return
            self._signal(c, signal.SIGTERM)
            deadline = self.clock.monotonic() + max(0.0, grace_seconds)
            # A second stop with a shorter grace shortens the wait, never lengthens it.
            c.kill_at = deadline if c.kill_at is None else min(c.kill_at, deadline)
            self._enforce_deadlines()
        self._wake()

    def remove(self, container_id: str) -> None:
        """Forget a container and delete its directory (log included); a running one
        is killed first, as CRI's RemoveContainer does."""
        with self._lock:
            c = self._get(container_id)
            self._finish(c)
            del self._containers[container_id]
        shutil.rmtree(c.dir, ignore_errors=True)

    def status(self, container_id: str) -> ContainerStatus:
        with self._lock:
            self._enforce_deadlines()
            c = self._get(container_id)
            return ContainerStatus(
                id=c.id, name=c.config.name, state=c.state, image=c.spec.reference,
                image_id=c.spec.repo_digest, exit_code=c.exit_code, reason=c.reason,
                message=c.message, created_at=c.created_at, started_at=c.started_at,
                finished_at=c.finished_at, pid=c.proc.pid if c.state == RUNNING else None,
                pod_uid=c.config.pod_uid, pod_namespace=c.config.pod_namespace,
                pod_name=c.config.pod_name)

    def list(self, pod_uid: Optional[str] = None) -> list:
        with self._lock:
            return [self.status(c.id) for c in list(self._containers.values())
                    if pod_uid is None or c.config.pod_uid == pod_uid]

    def logs(self, container_id: str, *, tail_lines: Optional[int] = None,
             since: Optional[float] = None, timestamps: bool = False,
             limit_bytes: Optional[int] = None) -> bytes:
        """As the kubelet serves them: the last `tail_lines` lines, of those the ones
        logged at or after `since` (wall seconds on the runtime's clock), prefixed with
        their RFC3339Nano time if `timestamps`, cut at `limit_bytes`."""
        with self._lock:
            path = self._get(container_id).log_path
        return read_cri_log(path, tail_lines, since, timestamps, limit_bytes)

    def probe(self, container_id: str, probe: dict, pod_ip: str) -> ProbeResult:
        """One try of a Kubernetes Probe (httpGet, tcpSocket or exec) within its
        timeoutSeconds (default 1). Named ports must be resolved by the caller."""
        timeout = float(probe.get("timeoutSeconds") or 1)
        with self._lock:
            c = self._get(container_id)
            running = c.state == RUNNING
        if "exec" in probe:
            if not running:
                return ProbeResult(False, "container is not running")
            command = [str(a) for a in probe["exec"].get("command") or []]
            argv, env, error = self._command_line(c, command)
            if error:
                return ProbeResult(False, error)
            return run_command(command, argv, env, c.view.workdir(c.config.working_dir), timeout,
                               self._spawner.popen)
        action = probe.get("httpGet") or probe.get("tcpSocket")
        if action is None:
            return ProbeResult(False, "no httpGet, tcpSocket or exec handler to run")
        host, port = action.get("host") or pod_ip or c.config.pod_ip, action.get("port")
        if not str(port).isdigit():
            return ProbeResult(False, f"named port {port!r} was not resolved to a number")
        if "httpGet" in probe:
            return http_get(host, int(port), action.get("path") or "/",
                            action.get("scheme") or "HTTP",
                            {h["name"]: h["value"] for h in action.get("httpHeaders") or []},
                            timeout)
        return tcp_connect(host, int(port), timeout)

    def usage(self, pod_uid: str) -> dict:
        """{"cpu": millicores, "memory": bytes} of the pod's live processes: memory is
        their resident set; cpu the rate since the previous call (or since start)."""
        with self._lock:
            running = [c for c in self._containers.values()
                       if c.config.pod_uid == pod_uid and c.state == RUNNING]
            groups = {c.proc.pid for c in running}
            first_start = min((c.started_mono for c in running), default=None)
        cpu, memory = group_usage(groups)
        now = self.clock.monotonic()
        then, before = self._cpu_seen.get(pod_uid, (first_start, 0.0))
        self._cpu_seen[pod_uid] = (now, cpu)
        rate = (cpu - before) / (now - then) if then is not None and now > then else 0.0
        return {"cpu": max(0, int(rate * 1000)), "memory": memory}

    def shutdown(self) -> None:
        """Kill every container and stop the runtime's threads; files stay."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for c in self._containers.values():
                self._finish(c)
        self._wake()
        self._pump.join(timeout=2.0)
        if not self._pump.is_alive():       # else it may still read (escaped writers)
            os.close(self._wake_r)
            os.close(self._wake_w)
        self._spawner.close()
        self._watchdog.close()

    # --- processes -------------------------------------------------------------------

    def _get(self, container_id: str) -> _Container:
        c = self._containers.get(container_id)
        if c is None:
            raise ContainerNotFound(container_id)
        return c

    def _signal(self, c: _Container, sig: int) -> None:
        # Only while the main process is unreaped (RUNNING): then its pid, which is
        # the group's id, cannot have been given to another process.
        try:
            os.killpg(c.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def _finish(self, c: _Container) -> None:
        """Kill what is left of c's process group, reap its main process, record the
        exit. Called by the pump once the main process has exited (after draining its
        output), and by remove/shutdown to force it."""
        if c.state != RUNNING:
            return
        self._signal(c, signal.SIGKILL)       # the rest of the group goes with it
        self._watchdog.release(c.proc.pid)
        code = c.proc.wait()
        c.exit_code = 128 - code if code < 0 else code
        c.state, c.finished_at, c.kill_at = EXITED, self.clock.now(), None
        c.reason = "Completed" if c.exit_code == 0 else "Error"

    def _start_failed(self, c: _Container, message: str) -> None:
        c.state, c.exit_code, c.reason = EXITED, 128, "StartError"
        c.message, c.finished_at = message, self.clock.now()

    def _enforce_deadlines(self) -> None:
        now = self.clock.monotonic()
        for c in self._containers.values():
            if c.state == RUNNING and c.kill_at is not None and now >= c.kill_at:
                self._signal(c, signal.SIGKILL)
                c.kill_at = None

    def _wake(self) -> None:
        os.write(self._wake_w, b"x")

    def _pump_loop(self) -> None:
        """Copy output into log files, notice exits, enforce stop deadlines."""
        while True:
            with self._lock:
                for fileobj, data in self._new_fds:
                    self._selector.register(fileobj, selectors.EVENT_READ, data)
                self._new_fds.clear()
                if self._closed and not any(c.streams for c in self._containers.values()):
                    break
                waiting = any(c.kill_at is not None for c in self._containers.values())
            for key, _ in self._selector.select(0.1 if waiting else None):
                try:
                    self._handle(*key.data, key.fileobj)
                except Exception:               # one bad event must not stop every log
                    log.exception("process runtime: handling %s failed", key.data[0])
            with self._lock:
                self._enforce_deadlines()
        for key in list(self._selector.get_map().values()):
            if key.data[0] == "exit":
                os.close(key.fileobj)
        self._selector.close()

    def _handle(self, kind: str, c: _Container, fileobj) -> None:
        if kind == "wake":
            os.read(self._wake_r, 4096)
        elif kind == "out":
            if fileobj in c.streams:            # not drained and closed just before
                self._copy(c, fileobj)
        else:                                   # "exit": c's pidfd is readable
            self._selector.unregister(fileobj)
            os.close(fileobj)
            # Exit is reported only once the output written before it is in the log
            # (containerd-shim drains IO first too): whoever sees "exited" finds every
            # line. The rest of the group is killed first, so the pipes hold all
            # there will be.
            with self._lock:
                if c.state == RUNNING:
                    self._signal(c, signal.SIGKILL)
                    for pipe in list(c.streams):
                        self._copy(c, pipe)
                    self._finish(c)

    def _copy(self, c: _Container, pipe) -> None:
        """Move what is in `pipe` into c's log; at EOF, close it (pump thread only)."""
        while True:
            try:
                chunk = os.read(pipe.fileno(), 65536)
            except BlockingIOError:
                return                         # all there is for now
            if not chunk:
                break
            c.writer.feed(c.streams[pipe], chunk)
        self._selector.unregister(pipe)
        c.writer.end(c.streams.pop(pipe))
        pipe.close()

    def _command_line(self, c: _Container, command: list) -> tuple:
        """(argv with paths mapped and argv[0] found on the PATH, env, error)."""
        argv, env = [c.view.map(a) for a in command], self._env(c)
        exe = shutil.which(argv[0], path=env.get("PATH")) if argv else None
        if exe is None:
            return [], env, (f'exec: "{command[0] if command else ""}": '
                             "executable file not found in $PATH")
        return [exe, *argv[1:]], env, ""

    def _env(self, c: _Container) -> dict:
        env = dict(c.spec.env)
        env.update(HOSTNAME=c.config.pod_name, MINIK8S_ROOT=c.view.root, HOME=c.view.root,
                   TMPDIR=c.view.tmp,
                   MINIK8S_PORTS=",".join(str(p) for p in c.config.ports))
        if c.config.pod_ip:
            env["POD_IP"] = c.config.pod_ip
        env.update((k, c.view.map(v)) for k, v in c.config.env)
        return env
