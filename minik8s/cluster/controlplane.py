"""The control-plane host: one process that runs the API server over the store.

In Kubernetes the control plane is kube-apiserver (the only client of etcd),
kube-scheduler and kube-controller-manager, usually as static pods on a control-plane
node. minik8s runs them in **one background process**, started by `minik8s up`:

    python -m minik8s.cluster.controlplane --data-dir D --port P --host 127.0.0.1 \
        --store sqlite|memory [--default-toleration-seconds N]

It opens the store (`D/store.db`, SQLite in WAL mode, unless `--store memory`), builds
the request pipeline (`APIServer`) and serves it over HTTP. Then it starts the other
components (`COMPONENTS`: the scheduler and the controller-manager, in threads —
unless `--components ""`: with nodes they run as Ray actors instead) and records what it is in `D/state.json`. It runs until SIGTERM or SIGINT, then stops
in the reverse order: components, HTTP, store.

Invariants:
- `state.json` appears only once the API answers, and is replaced atomically: a
  reader sees the old file, the new one, or none, never half a file.
- A SIGKILL (a crash, `minik8s chaos kill apiserver`) loses nothing acknowledged: the
  SQLite store commits every write before the API answers it. The stale `state.json`
  it leaves names a dead pid; `minik8s up` notices and starts a new host.
- One host per store: SqliteStore locks its file, so a second host on the same data
  directory fails at once instead of diverging from the first.

Logs go to `D/controlplane.log` (`minik8s up` also sends the process's stdout and
stderr there, so a crash before logging starts is still in the file).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import random
import signal
import sys
import threading
from typing import Callable, Protocol

from minik8s.api.clock import Clock, RealClock
from minik8s.api.meta import rfc3339
from minik8s.apiserver.http import serve
from minik8s.apiserver.nodeproxy import make_node_proxy
from minik8s.apiserver.server import APIServer
from minik8s.store import open_store

log = logging.getLogger("minik8s.controlplane")

STATE_FILE = "state.json"
LOG_FILE = "controlplane.log"
STORE_FILE = "store.db"
# The module name is how `down` recognises our process in /proc/<pid>/cmdline, so a
# pid recycled by an unrelated program is never signalled.
MODULE = "minik8s.cluster.controlplane"


class Component(Protocol):
    """A running control-plane component (scheduler, controller-manager, ...)."""
    name: str

    def stop(self) -> None: ...


class ThreadedComponent:
    """A component (anything with `run(stop_event)`) looping in a daemon thread;
    `stop()` sets the event and waits for the loop to finish its step."""

    def __init__(self, name: str, component, join_timeout: float = 10.0):
        self.name, self.component, self.join_timeout = name, component, join_timeout
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.component.run(self._stop)
        except Exception:
            log.exception("%s crashed", self.name)

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(self.join_timeout)


def start_scheduler(api: APIServer, clock: Clock, rng: random.Random) -> Component:
    """kube-scheduler, in a thread over an in-process client (its own random source,
    so it does not share the API server's across threads)."""
    from minik8s.client.inprocess import InProcessClient
    from minik8s.scheduler.scheduler import Scheduler
    scheduler = Scheduler(InProcessClient(api), clock, random.Random(rng.getrandbits(64)))
    return ThreadedComponent("scheduler", scheduler)


def start_controller_manager(api: APIServer, clock: Clock, rng: random.Random) -> Component:
    """kube-controller-manager, in a thread over an in-process client. Without nodes
    there are no node handles (the node lifecycle controller goes by Leases alone)."""
    from minik8s.client.inprocess import InProcessClient
    from minik8s.controllers.manager import ControllerManager
    manager = ControllerManager(InProcessClient(api), clock, random.Random(rng.getrandbits(64)))
    return ThreadedComponent("controller-manager", manager)


def _available(start) -> bool:
    import importlib.util
    return start is not start_controller_manager or \
        importlib.util.find_spec("minik8s.controllers.manager") is not None


# The components this host runs next to the API server, in start order. Each entry
# is `start(api, clock, rng) -> Component`: it receives the pipeline (components talk
# to it through an in-process client, never to the store) and returns something that
# stops.
COMPONENTS: list[Callable[[APIServer, Clock, random.Random], Component]] = [
    start_scheduler, start_controller_manager]


def store_spec(kind: str, data_dir: str) -> str:
    """`--store` as the host takes it -> an `open_store` spec ("sqlite" is the data
    directory's own `store.db`; any other `open_store` spec passes through)."""
    if kind == "sqlite":
        return "sqlite://" + os.path.join(os.path.abspath(data_dir), STORE_FILE)
    return kind


def write_json_atomically(path: str, data: dict) -> None:
    """Write, flush, then rename over `path`: readers never see a partial file."""
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class ControlPlaneHost:
    """The store, the API server over HTTP, and the components, started and stopped
    in order. Usable in-process (tests) as well as by `main` below."""

    def __init__(self, data_dir: str, *, host: str = "127.0.0.1", port: int = 6443,
                 store: str = "sqlite", default_toleration_seconds: int = 300,
                 clock: Clock | None = None, rng: random.Random | None = None,
                 components: bool = True):
        self.data_dir = os.path.abspath(data_dir)
        self.host, self.port = host, port
        self.store_kind = store
        self.default_toleration_seconds = default_toleration_seconds
        self.clock = clock or RealClock()
        self.rng = rng or random.Random()
        self.store = self.api = self.httpd = None
        self.components: list[Component] = []
        self.run_components = components
        self.state_path = os.path.join(self.data_dir, STATE_FILE)

    def start(self) -> None:
        os.makedirs(self.data_dir, exist_ok=True)
        spec = store_spec(self.store_kind, self.data_dir)
        self.store = open_store(spec)
        log.info("store %s opened", spec)
        try:
            self.api = APIServer(self.store, self.clock, self.rng,
                                 default_toleration_seconds=self.default_toleration_seconds)
            # pods/log goes to the pod's kubelet over HTTP, as kube-apiserver does.
            self.api.node_proxy = make_node_proxy(self.api)
            self.httpd = serve(self.api, self.host, self.port)
            log.info("API server serving at %s", self.httpd.url)
            for start in (COMPONENTS if self.run_components else []):
                if not _available(start):
                    continue
                component = start(self.api, self.clock, self.rng)
                self.components.append(component)
                log.info("%s started", component.name)
        except BaseException:
            self.stop()
            raise
        self._write_state(spec)

    def _write_state(self, spec: str) -> None:
        host, port = self.httpd.server_address[:2]
        write_json_atomically(self.state_path, {
            "pid": os.getpid(),
            "host": host,
            "port": port,                       # the real one, even for --port 0
            "url": self.httpd.url,
            "store": spec,
            "storeFile": getattr(self.store, "path", None),
            "components": ["apiserver"] + [c.name for c in self.components],
            "startedAt": rfc3339(self.clock.now()),
            "dataDir": self.data_dir,
        })

    def stop(self) -> None:
        """Reverse order of start; safe to call twice and after a failed start."""
        for component in reversed(self.components):
            try:
                component.stop()
                log.info("%s stopped", component.name)
            except Exception:
                log.exception("%s did not stop cleanly", component.name)
        self.components = []
        if self.httpd is not None:
            self.httpd.stopping.set()           # ends open watches
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None
            log.info("API server stopped")
        if self.store is not None:
            self.store.close()
            self.store = None
            log.info("store closed")
        self._remove_own_state()

    def _remove_own_state(self) -> None:
        # Only our own record: after a crash and a new `up`, another host owns the file.
        try:
            with open(self.state_path) as f:
                mine = json.load(f).get("pid") == os.getpid()
        except (OSError, ValueError):
            return
        if mine:
            os.unlink(self.state_path)


def parse_args(argv) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=f"python -m {MODULE}",
                                description="the minik8s control-plane host")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--port", type=int, default=6443)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--store", default="sqlite",
                   help='"sqlite" (DATA_DIR/store.db), "memory", or an open_store spec')
    p.add_argument("--default-toleration-seconds", type=int, default=300)
    p.add_argument("--components", default="scheduler,controller-manager",
                   help='"" when the scheduler and controller-manager run elsewhere (Ray)')
    return p.parse_args(argv)


def main(argv: list | None = None) -> int:
    args = parse_args(argv)
    os.makedirs(args.data_dir, exist_ok=True)
    logging.basicConfig(filename=os.path.join(args.data_dir, LOG_FILE), level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The handlers only set a flag: the main thread does the stopping, outside the
    # signal handler, where taking locks (HTTP shutdown, store close) is safe.
    stopping = threading.Event()

    def on_signal(signum, _frame):
        log.info("received %s, stopping", signal.Signals(signum).name)
        stopping.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    host = ControlPlaneHost(args.data_dir, host=args.host, port=args.port,
                            store=args.store,
                            default_toleration_seconds=args.default_toleration_seconds,
                            components=bool(args.components.strip()))
    try:
        host.start()
    except Exception as e:
        log.exception("control plane failed to start")
        print(f"control plane failed to start: {e}", file=sys.stderr)
        return 1
    log.info("control plane ready (pid %d)", os.getpid())
    clock = host.clock
    while not clock.wait(stopping, 1.0):    # a timeout keeps signals prompt everywhere
        pass
    host.stop()
    log.info("control plane stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
