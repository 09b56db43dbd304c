"""Addresses for image programs: where one listens, and how it finds its peers.

In Kubernetes a container listens on its pod's IP (every pod has its own network
namespace) and finds other applications through Services: by DNS name (`rng`,
`redis.default.svc.cluster.local`) or, for Services that existed when the pod started,
through the environment variables the kubelet injects (`RNG_SERVICE_HOST`,
`RNG_SERVICE_PORT`, ...; a Service `my-svc` becomes `MY_SVC_...`).

minik8s' process runtime gives each pod a loopback address instead of a namespace
(exported as `POD_IP`) and the containerPorts as `MINIK8S_PORTS`. This module is the one
place the image programs (dockercoins, redis, stress) turn that into addresses:

- **listening**: host `POD_IP`, else 127.0.0.1 — never 0.0.0.0, which would take the
  port on every pod's address at once. Port: `--port N`, else env `PORT`, else the
  first containerPort, else the image's default (80 for the DockerCoins web apps,
  6379 for redis, as in the real images).
- **peers** (`peer_url("rng", 80)`), in this order:
  1. an explicit override `<NAME>_URL` (`RNG_URL=http://127.0.0.1:8001`,
     `REDIS_URL=redis://127.0.0.1:6380`) — for tests and for running without Services;
  2. Kubernetes' Service variables `<NAME>_SERVICE_HOST` / `<NAME>_SERVICE_PORT`;
  3. the bare name through DNS (`http://rng:80`), as the real images do.

Pitfall: the override is `REDIS_URL`, not `REDIS_HOST` + `REDIS_PORT`. Kubernetes also
injects Docker-link variables for every Service, and for a Service named `redis` that
includes `REDIS_PORT=tcp://10.0.0.11:6379` — a program reading `REDIS_PORT` as a number
breaks the moment someone creates that Service (a classic real-world surprise).
`*_URL` is a name Kubernetes never generates.
"""
from __future__ import annotations

import os
import signal
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Mapping, Optional
from urllib.parse import urlsplit


def env_name(service: str) -> str:
    """The prefix Kubernetes uses for a Service's variables: `my-svc` -> `MY_SVC`."""
    return service.upper().replace("-", "_").replace(".", "_")


def listen_address(default_port: int, cli_port: int = 0,
                   env: Optional[Mapping[str, str]] = None) -> tuple:
    """(host, port) this container should listen on; see the module docstring."""
    env = os.environ if env is None else env
    host = env.get("POD_IP") or "127.0.0.1"
    if cli_port:
        return host, int(cli_port)
    if env.get("PORT"):
        return host, int(env["PORT"])
    ports = [p for p in env.get("MINIK8S_PORTS", "").split(",") if p.strip()]
    return host, int(ports[0]) if ports else int(default_port)


def peer_url(name: str, default_port: int, scheme: str = "http",
             env: Optional[Mapping[str, str]] = None) -> str:
    """Where peer `name` answers, as `scheme://host:port` (no trailing slash)."""
    env = os.environ if env is None else env
    prefix = env_name(name)
    if env.get(f"{prefix}_URL"):
        return env[f"{prefix}_URL"].rstrip("/")
    host = env.get(f"{prefix}_SERVICE_HOST")
    if host:
        if ":" in host:                       # an IPv6 ClusterIP needs brackets in a URL
            host = f"[{host}]"
        return f"{scheme}://{host}:{env.get(f'{prefix}_SERVICE_PORT') or default_port}"
    return f"{scheme}://{name}:{default_port}"


def peer_address(name: str, default_port: int,
                 env: Optional[Mapping[str, str]] = None) -> tuple:
    """(host, port) of a TCP peer such as redis, resolved like `peer_url`."""
    url = urlsplit(peer_url(name, default_port, scheme="tcp", env=env))
    return url.hostname, url.port or default_port


def hostname(env: Optional[Mapping[str, str]] = None) -> str:
    """The container's hostname: the pod name, which the runtime exports as HOSTNAME."""
    env = os.environ if env is None else env
    return env.get("HOSTNAME") or socket.gethostname()


class Handler(BaseHTTPRequestHandler):
    """The request handler the image servers share: HTTP/1.1 keep-alive, and one
    access-log line per request on stdout (where `kubectl logs` looks)."""
    protocol_version = "HTTP/1.1"
    # Without this, keep-alive clients wait ~40 ms per request: Nagle holds the body
    # back until the headers' delayed ACK arrives (DESIGN §6).
    disable_nagle_algorithm = True
    server_name = "minik8s"

    def version_string(self) -> str:
        return self.server_name

    def answer(self, code: int, body, content_type: str = "text/plain; charset=utf-8",
               headers: Optional[dict] = None) -> None:
        data = body.encode() if isinstance(body, str) else bytes(body)
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def log_request(self, code="-", size="-"):
        print(f'{self.client_address[0]} - - [{self.log_date_time_string()}] '
              f'"{self.requestline}" {code}', flush=True)

    def log_message(self, format, *args):
        print(format % args, file=sys.stderr, flush=True)


def serve(handler: type, default_port: int, name: str, cli_port: int = 0) -> int:
    """Serve HTTP with `handler` on this container's address until SIGTERM; the exit code.
    Exits 0 promptly on SIGTERM/SIGINT (a container that ignores SIGTERM is SIGKILLed
    after the grace period and reported as exit code 137)."""
    host, port = listen_address(default_port, cli_port)
    try:
        server = ThreadingHTTPServer((host, port), handler)
    except OSError as e:
        print(f"{name}: cannot listen on {host}:{port}: {e}", file=sys.stderr, flush=True)
        return 1
    server.daemon_threads = True
    exit_on_sigterm()
    print(f"{name} listening on http://{host}:{port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.5)
    except SystemExit:
        print(f"{name}: received SIGTERM, shutting down", flush=True)
    finally:
        server.server_close()
    return 0


def exit_on_sigterm() -> None:
    """Turn SIGTERM and SIGINT into SystemExit in the main thread (unwinds any loop)."""
    def terminate(signum, frame):
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, terminate)
