"""The program behind the `minik8s/hello:<tag>` and `nginx[:tag]` images.

Tutorials use a tiny web server (Google's hello-app, nginx) to show pods, Services,
rolling updates and probes. This is that server: run as `python -m minik8s.images.hello`
by the process runtime, it serves HTTP on the pod's IP and answers

- `GET /` with its version (the image tag), its pod name and pod IP (hello), or a
  "Welcome to nginx!" page (nginx flavour; other paths are 404 there);
- `GET /healthz` (for liveness probes) and `GET /ready` (for readiness probes): 200 "ok",
  or 500/503 when made to fail.

Making probes fail, for demos and tests (pick one):
- `POST /fail/healthz`, `POST /fail/ready` fail that endpoint from now on;
  `POST /recover/healthz`, `POST /recover/ready` heal it;
- env `READY_AFTER=<seconds>`: `/ready` fails for that long after start;
- a flag file: while `/tmp/fail-ready` or `/tmp/fail-healthz` exists (the container's
  private /tmp, i.e. `$TMPDIR`), that endpoint fails (`kubectl exec ... touch /tmp/fail-ready`);
- `POST /exit/<code>` makes the server exit with that code at once (a crash).

Where it listens: address `POD_IP` (else 127.0.0.1; never 0.0.0.0, which would take the
port on every pod address), port `--port N`, else env `PORT`, else the first
containerPort (the runtime exports them as `MINIK8S_PORTS`), else `HELLO_DEFAULT_PORT`
(80 for nginx), else 8080. It logs one line per request to stdout, like an access log,
and exits 0 promptly on SIGTERM (as nginx does on a fast shutdown).
"""
from __future__ import annotations

import argparse
import os
import sys
from http.server import BaseHTTPRequestHandler

from minik8s.api.clock import RealClock
from minik8s.images import peers

CLOCK = RealClock()
STARTED = CLOCK.monotonic()
FAILING: set = set()          # endpoints failed through POST /fail/<name>

NGINX_PAGE = """<!DOCTYPE html>
<html>
<head><title>Welcome to nginx!</title></head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the web server is running (served by minik8s, version {version},
from pod {pod} at {ip}).</p>
</body>
</html>
"""


def env(name: str, default: str = "") -> str:
    return os.environ.get(name) or default


def listen_port(cli_port) -> int:
    """--port, else PORT, else the first containerPort, else the image's default."""
    return peers.listen_address(int(env("HELLO_DEFAULT_PORT", "8080")), cli_port)[1]


def healthy(endpoint: str) -> bool:
    """Should /healthz or /ready (endpoint "healthz" / "ready") answer 200 now?"""
    if endpoint in FAILING:
        return False
    if os.path.exists(os.path.join(env("TMPDIR", "/tmp"), f"fail-{endpoint}")):
        return False
    if endpoint == "ready" and env("READY_AFTER"):
        return CLOCK.monotonic() - STARTED >= float(env("READY_AFTER"))
    return True


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    @property
    def flavour(self) -> str:
        return env("HELLO_FLAVOR", "hello")

    def version_string(self) -> str:
        name = "nginx" if self.flavour == "nginx" else "minik8s-hello"
        return f"{name}/{env('HELLO_VERSION', 'latest')}"

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path in ("/healthz", "/ready"):
            ok = healthy(path[1:])
            code = 200 if ok else (503 if path == "/ready" else 500)
            return self.answer(code, "ok\n" if ok else "failing\n")
        pod, ip = env("POD_NAME", env("HOSTNAME")), env("POD_IP")
        version = env("HELLO_VERSION", "latest")
        if self.flavour == "nginx":
            if path not in ("/", "/index.html"):
                return self.answer(404, "<html><body><h1>404 Not Found</h1></body></html>\n",
                                   "text/html")
            return self.answer(200, NGINX_PAGE.format(version=version, pod=pod, ip=ip),
                               "text/html")
        self.answer(200, f"Hello, world!\nVersion: {version}\nHostname: "
                         f"{env('HOSTNAME', pod)}\nPod: {pod}\nPod IP: {ip}\n")

    def do_HEAD(self):
        self.do_GET()

    def do_POST(self):
        parts = self.path.strip("/").split("/")
        if len(parts) == 2 and parts[0] in ("fail", "recover") and parts[1] in ("healthz",
                                                                                  "ready"):
            (FAILING.add if parts[0] == "fail" else FAILING.discard)(parts[1])
            return self.answer(200, f"{parts[1]}: {parts[0]}\n")
        if len(parts) == 2 and parts[0] == "exit" and parts[1].isdigit():
            self.answer(200, f"exiting with code {parts[1]}\n")
            self.wfile.flush()
            sys.stdout.flush()
            os._exit(int(parts[1]))   # a crash: no cleanup, like a real one
        self.answer(404, "not found\n")

    def answer(self, code: int, body: str, content_type: str = "text/plain") -> None:
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def log_request(self, code="-", size="-"):
        # One access-log line per request on stdout (where `kubectl logs` looks).
        agent = self.headers.get("User-Agent", "-") if self.headers else "-"
        print(f'{self.client_address[0]} - - [{self.log_date_time_string()}] '
              f'"{self.requestline}" {code} "{agent}"', flush=True)

    def log_message(self, format, *args):
        print(format % args, file=sys.stderr, flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="hello", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    opts = parser.parse_args(argv)
    name = f"{env('HELLO_FLAVOR', 'hello')} {env('HELLO_VERSION', 'latest')}"
    return peers.serve(Handler, int(env("HELLO_DEFAULT_PORT", "8080")), name, opts.port)


if __name__ == "__main__":
    sys.exit(main())
