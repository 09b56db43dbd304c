"""The simulated container runtime: containers that are only a script and a clock.

In Kubernetes, kwok ("Kubernetes WithOut Kubelet") fakes nodes and pods so a control
plane can be tested with thousands of nodes on a laptop. This is the same idea one
level lower: the real kubelet drives it through the `Runtime` seam, but no process ever
starts. A container is a record of *when* things were asked (create, start, stop) plus
a script of what it then does; `status()` computes the state from `clock.monotonic()`
in O(1), nothing runs in the background, and a seeded run is byte-identical.

The script comes from the pod's annotations (the kubelet passes them as
`ContainerConfig.labels`), each one overridable per container with a `<container>.`
prefix ("sim.minik8s.io/web.exit-code" beats "sim.minik8s.io/exit-code" for "web"):

    sim.minik8s.io/start-delay     seconds between start() and running
    sim.minik8s.io/exit-after      seconds of running, then exit (default: never)
    sim.minik8s.io/exit-code       the code of a natural exit (default 0)
    sim.minik8s.io/exit-attempts   exit-after applies to the first N attempts only
    sim.minik8s.io/ready           "false": every probe fails (default "true")
    sim.minik8s.io/ready-after     seconds of running before probes succeed
    sim.minik8s.io/unhealthy-after seconds of running after which probes fail
    sim.minik8s.io/ignore-sigterm  "true": stop() waits for the grace period
    sim.minik8s.io/log             the line logged when the container starts
    sim.minik8s.io/cpu, /memory    usage (quantities) instead of requests-derived

busybox and alpine images run their command through a tiny shell: `sleep N`,
`exit N`, `true`, `false`, `echo`, `touch`/`rm` (seen by exec probes such as
`cat /tmp/healthy`), `&&`, `||` and `;`. Any other command succeeds at once; `while`
runs forever (its body is not simulated); no command at all is plain `sh`, which exits
0 at once (as busybox does without stdin). Other images run until stopped.

Stop follows the CRI: SIGTERM now, SIGKILL after the grace period. A well-behaved
process exits at once with 143 (128 + SIGTERM); one that ignores SIGTERM is killed at
the deadline with 137 (128 + SIGKILL), the codes kubectl shows for real containers.
"""
from __future__ import annotations

import hashlib
import math
import random
import shlex
import threading
from dataclasses import dataclass, fields, replace
from typing import Optional

from minik8s.api.meta import micro_time
from minik8s.api.quantity import to_int, to_millis
from minik8s.images import reference as image_reference  # containerd's normalisation
from minik8s.node.runtime import (CREATED, EXITED, RUNNING, ContainerConfig,
                                  ContainerNotFound, ContainerStatus, ImagePullError,
                                  ProbeResult)

PREFIX = "sim.minik8s.io/"
SHELL_IMAGES = ("busybox", "alpine")
UNPULLABLE_MARKERS = ("doesnotexist", "nonexistent", "unknown-image")
SIGTERM_EXIT, SIGKILL_EXIT = 143, 137
FOREVER = math.inf
DEFAULT_CPU_MILLIS, DEFAULT_MEMORY = 10, 32 * 2**20   # for containers without requests


@dataclass(frozen=True)
class Program:
    """What a container does once running; every offset is seconds since it began."""
    events: tuple = ()              # ((offset, kind, arg), ...), kind: log | touch | rm
    exit_after: float = FOREVER
    exit_code: int = 0


@dataclass(frozen=True)
class Script:
    """The annotations of one container, parsed (field `start_delay` <- `start-delay`)."""
    start_delay: float = 0.0
    exit_after: Optional[float] = None
    exit_code: Optional[int] = None
    exit_attempts: Optional[int] = None
    ready: bool = True
    ready_after: float = 0.0
    unhealthy_after: float = FOREVER
    ignore_sigterm: bool = False
    log: Optional[str] = None
    cpu: Optional[str] = None
    memory: Optional[str] = None


_CASTS = {"exit_code": int, "exit_attempts": int, "log": str, "cpu": str, "memory": str,
          "ready": lambda v: v.lower() == "true",
          "ignore_sigterm": lambda v: v.lower() == "true"}


def parse_script(labels: dict, container: str) -> Script:
    """Read the sim annotations; `<container>.` keys win. A bad value raises ValueError
    (the kubelet reports CreateContainerError, as when a runtime refuses a spec)."""
    values = {}
    for f in fields(Script):
        key = f.name.replace("_", "-")
        raw = labels.get(f"{PREFIX}{container}.{key}", labels.get(PREFIX + key))
        if raw is not None:
            try:
                values[f.name] = _CASTS.get(f.name, float)(str(raw))
            except ValueError:
                raise ValueError(f"annotation {PREFIX}{key}: invalid value {raw!r}") from None
    return Script(**values)


def _repository(image: str) -> str:
    return image.split("@")[0].rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image


# --- a tiny shell for busybox/alpine commands ---------------------------------------

def shell_program(command: tuple, args: tuple) -> Program:
    """Busybox has no ENTRYPOINT, so `command + args` is the command line; `sh -c X`
    runs the script X. Anything unrecognised is a command that succeeds at once."""
    argv = list(command) + list(args)
    if argv and argv[0].rsplit("/", 1)[-1] in ("sh", "ash", "bash"):
        if len(argv) >= 3 and argv[1] == "-c":
            return run_shell(argv[2])
        return Program(exit_after=0.0)      # `sh` without a script and no stdin
    return run_shell(shlex.join(argv)) if argv else Program(exit_after=0.0)


def _statements(script: str) -> list:
    """[(connector, argv)]: connector is how the statement joins the previous one."""
    lexer = shlex.shlex(script.replace("\n", ";"), posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    out, argv, connector = [], [], ";"
    for token in lexer:
        if token and set(token) <= set(";&|"):
            if argv:
                out.append((connector, argv))
            argv, connector = [], token if token in ("&&", "||") else ";"
        else:
            argv.append(token)
    if argv:
        out.append((connector, argv))
    return out


def _duration(text: str) -> float:
    """busybox `sleep`: a number with an optional s/m/h/d suffix."""
    scale = {"s": 1, "m": 60, "h": 3600, "d": 86400}.get(text[-1:], None)
    return float(text[:-1]) * scale if scale else float(text)


def run_shell(script: str) -> Program:
    """Compile a shell script into a Program: its timeline of logs and files, its exit.
    `$?` rules: `a && b` runs b only if a succeeded, `a || b` only if it failed."""
    t, status, events = 0.0, 0, []
    for connector, argv in _statements(script):
        if (connector == "&&" and status != 0) or (connector == "||" and status == 0):
            continue
        name, rest = argv[0], argv[1:]
        if name == "while":
            return Program(tuple(events))                   # never exits
        if name == "sleep" and rest:
            try:
                t, status = t + _duration(rest[0]), 0
            except ValueError:                              # "sleep: invalid number"
                status = 1
        elif name == "exit":
            code = status if not rest else int(rest[0]) % 256 if rest[0].isdigit() else 2
            return Program(tuple(events), exit_after=t, exit_code=code)
        elif name in ("echo", "touch", "rm"):
            if name == "echo":
                events.append((t, "log", " ".join(a for a in rest if a != "-n")))
            else:
                events.extend((t, name, path) for path in rest if not path.startswith("-"))
            status = 0
        else:
            status = 1 if name == "false" else 0
    return Program(tuple(events), exit_after=t, exit_code=status)


# --- the runtime ----------------------------------------------------------------------

@dataclass
class _Container:
    """Mutable bookkeeping of one container (one attempt); times are monotonic."""
    id: str
    config: ContainerConfig
    reference: str
    image_id: str
    script: Script
    program: Program
    cpu_millis: int
    memory: int
    created: float
    started: Optional[float] = None         # start() called
    forced_end: float = FOREVER             # stop / crash / shutdown: when it dies
    forced_code: int = 0

    @property
    def running_from(self) -> float:
        return FOREVER if self.started is None else self.started + self.script.start_delay

    def end(self) -> tuple:
        """(when the container exits, exit code): its own exit or a forced one."""
        natural = self.running_from + self.program.exit_after
        if natural <= self.forced_end:
            return natural, self.program.exit_code
        return self.forced_end, self.forced_code

    def force(self, when: float, code: int) -> None:
        """Die at `when` with `code`, unless already due to die earlier."""
        if when < self.forced_end:
            self.forced_end, self.forced_code = when, code


class SimulatedRuntime:
    name = "simulated"
    version = "minik8s-simulated://0.1"

    def __init__(self, clock, rng: Optional[random.Random] = None):
        self.clock = clock
        self.rng = rng or random.Random(0)
        self._wall_offset = clock.now() - clock.monotonic()
        self._containers: dict = {}
        self._by_pod: dict = {}
        self._forbidden: set = set()
        self._shut_down = False
        self._lock = threading.Lock()   # the kubelet's HTTP server reads logs concurrently

    # images
    def forbid_image(self, image: str) -> None:
        self._forbidden.add(image)

    def pull(self, image: str) -> str:
        ref = image_reference(image)
        if (any(m in image.lower() for m in UNPULLABLE_MARKERS)
                or image in self._forbidden or _repository(image) in self._forbidden):
            raise ImagePullError(f'failed to pull and unpack image "{ref}": failed to '
                                 f'resolve reference "{ref}": {ref}: not found')
        digest = hashlib.sha256(ref.encode()).hexdigest()
        return f"{_repository(ref)}@sha256:{digest}"

    # lifecycle
    def create(self, config: ContainerConfig) -> str:
        if self._shut_down:
            raise RuntimeError("the runtime is shut down")
        image_id = self.pull(config.image)
        script = parse_script(config.labels or {}, config.name)
        shell = _repository(config.image).rsplit("/", 1)[-1] in SHELL_IMAGES
        program = shell_program(config.command, config.args) if shell else Program()
        if script.exit_after is not None and (script.exit_attempts is None
                                              or config.attempt < script.exit_attempts):
            program = replace(program, exit_after=script.exit_after)
        if script.exit_code is not None:
            program = replace(program, exit_code=script.exit_code % 256)
        if script.log is not None or not shell:
            line = script.log or f"{config.image}: started {config.name} #{config.attempt}"
            program = replace(program, events=((0.0, "log", line),) + program.events)
        # Usage: the scripted numbers, else the requests (if the kubelet passes the
        # container's `resources`) times a seeded 20-80 % load, else small defaults.
        requests = (getattr(config, "resources", None) or {}).get("requests", {})
        load = self.rng.uniform(0.2, 0.8)
        cpu = to_millis(script.cpu or requests.get("cpu") or "0") * (1 if script.cpu else load)
        memory = to_int(script.memory or requests.get("memory") or "0") * (
            1 if script.memory else load)
        with self._lock:
            cid = base = f"sim://{config.pod_uid}/{config.name}/{config.attempt}"
            n = 0
            while cid in self._containers:     # a re-created attempt: keep ids unique
                n, cid = n + 1, f"{base}-{n + 1}"
            self._containers[cid] = _Container(
                cid, config, image_reference(config.image), image_id, script, program,
                round(cpu) or DEFAULT_CPU_MILLIS, round(memory) or DEFAULT_MEMORY,
                self.clock.monotonic())
            self._by_pod.setdefault(config.pod_uid, []).append(cid)
        return cid

    def _get(self, container_id: str) -> _Container:
        try:
            return self._containers[container_id]
        except KeyError:
            raise ContainerNotFound(container_id) from None

    def start(self, container_id: str) -> None:
        c = self._get(container_id)
        if self._shut_down or c.started is not None:
            raise RuntimeError(f"cannot start {container_id}: shut down or already started")
        c.started = self.clock.monotonic()

    def stop(self, container_id: str, grace_seconds: float) -> None:
        """SIGTERM now, SIGKILL at the deadline. Stopping a created (never started)
        container does nothing, as in containerd; a second stop may only shorten."""
        c, now = self._get(container_id), self.clock.monotonic()
        if c.started is None or c.end()[0] <= now:
            return
        if c.script.ignore_sigterm and grace_seconds > 0:
            c.force(now + grace_seconds, SIGKILL_EXIT)
        else:
            c.force(now, SIGTERM_EXIT if grace_seconds > 0 else SIGKILL_EXIT)

    def crash(self, container_id: str, exit_code: int = 1) -> None:
        """Fault injection: the process dies now with `exit_code` (if it runs)."""
        c = self._get(container_id)
        if c.started is not None:
            c.force(self.clock.monotonic(), exit_code)

    def remove(self, container_id: str) -> None:
        """Idempotent, as CRI RemoveContainer; a running container is removed by force."""
        with self._lock:
            c = self._containers.pop(container_id, None)
            if c is not None:
                self._by_pod[c.config.pod_uid].remove(container_id)
                if not self._by_pod[c.config.pod_uid]:
                    del self._by_pod[c.config.pod_uid]

    def shutdown(self) -> None:
        """The node dies: every started container is SIGKILLed now."""
        self._shut_down = True
        now = self.clock.monotonic()
        for c in list(self._containers.values()):
            if c.started is not None:
                c.force(now, SIGKILL_EXIT)

    # observation
    def status(self, container_id: str) -> ContainerStatus:
        c, now = self._get(container_id), self.clock.monotonic()
        end, code = c.end()
        ran = c.running_from <= end      # it may die during its start delay
        common = dict(id=c.id, name=c.config.name, image=c.reference, image_id=c.image_id,
                      created_at=self._wall(c.created), pod_uid=c.config.pod_uid,
                      pod_namespace=c.config.pod_namespace, pod_name=c.config.pod_name)
        if end <= now:
            return ContainerStatus(state=EXITED, exit_code=code,
                                   reason="Completed" if code == 0 else "Error",
                                   started_at=self._wall(c.running_from) if ran else None,
                                   finished_at=self._wall(end), **common)
        running = c.running_from <= now
        return ContainerStatus(state=RUNNING if running else CREATED, **common,
                               started_at=self._wall(c.running_from) if running else None)

    def _wall(self, mono: float) -> float:
        return mono + self._wall_offset

    def list(self, pod_uid: Optional[str] = None) -> list:
        with self._lock:
            ids = list(self._containers if pod_uid is None else self._by_pod.get(pod_uid, ()))
        return [self.status(cid) for cid in ids]

    def usage(self, pod_uid: str) -> dict:
        cpu = memory = 0
        for status in self.list(pod_uid):
            if status.state == RUNNING:
                c = self._containers[status.id]
                cpu, memory = cpu + c.cpu_millis, memory + c.memory
        return {"cpu": cpu, "memory": memory}

    def probe(self, container_id: str, probe: dict, pod_ip: str) -> ProbeResult:
        """Answer from the script; an exec probe reading a file sees the shell's files."""
        c, now = self._get(container_id), self.clock.monotonic()
        if self.status(container_id).state != RUNNING:
            return ProbeResult(False, "container is not running")
        ran = now - c.running_from
        command = (probe.get("exec") or {}).get("command") or []
        if command[:1] in (["cat"], ["test"], ["ls"]) and any(
                kind != "log" for _, kind, _ in c.program.events):
            path = command[-1]          # the last touch/rm of the file before now wins
            done = [kind for t, kind, arg in c.program.events
                    if t <= ran and arg == path and kind != "log"]
            exists = done[-1:] == ["touch"]
            return ProbeResult(exists, "" if exists else
                               f"{command[0]}: can't open '{path}': No such file or directory")
        if c.script.ready and c.script.ready_after <= ran < c.script.unhealthy_after:
            return ProbeResult(True)
        if "httpGet" in probe:
            return ProbeResult(False, "HTTP probe failed with statuscode: 503")
        if "tcpSocket" in probe:
            port = probe["tcpSocket"].get("port")
            return ProbeResult(False, f"dial tcp {pod_ip}:{port}: connect: connection refused")
        return ProbeResult(False, f"command {command!r} exited with 1")

    def logs(self, container_id: str, *, tail_lines: Optional[int] = None,
             since: Optional[float] = None, timestamps: bool = False,
             limit_bytes: Optional[int] = None) -> bytes:
        """The lines logged so far. `since` is wall seconds (epoch), as CRI's since."""
        c, now = self._get(container_id), self.clock.monotonic()
        until = min(now, c.end()[0]) - c.running_from
        lines = [(self._wall(c.running_from + t), text)
                 for t, kind, text in c.program.events if kind == "log" and t <= until]
        if since is not None:
            lines = [line for line in lines if line[0] >= since]
        if tail_lines is not None:
            lines = lines[-tail_lines:] if tail_lines > 0 else []
        # `--timestamps`: RFC 3339 with nine fixed fraction digits, as the kubelet writes.
        out = "".join(f"{micro_time(w)[:-1]}000Z {text}\n" if timestamps else f"{text}\n"
                      for w, text in lines).encode()
        return out[:limit_bytes] if limit_bytes is not None else out

