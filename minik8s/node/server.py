"""The kubelet's HTTP server (the real kubelet's port 10250).

In Kubernetes every kubelet serves an HTTPS API on its node's address; the API server
proxies `kubectl logs`, `exec`, `port-forward` and node stats to it, finding it through
`Node.status.addresses` and `Node.status.daemonEndpoints.kubeletEndpoint.Port`. This
server keeps the paths and behaviour of the parts minik8s needs so far:

    GET /healthz                                     "ok"
    GET /pods                                        a PodList of the pods the kubelet runs
    GET /containerLogs/<namespace>/<pod>/<container> the container's log, text/plain;
        ?tailLines=N&previous=true&timestamps=true&sinceSeconds=N&limitBytes=N
        &follow=true  streams (chunked) until the container exits

Errors are plain text, as the real kubelet writes them: 404 for an unknown pod or
container (`pod "x" does not exist`), 400 for a container with no log to show
(`container "c" in pod "p" is waiting to start: ContainerCreating`). The kubelet
object answers the questions (`pods()`, `container_logs()`, `follow_logs()`) and
raises typed errors (minik8s.api.errors: NotFound -> 404, BadRequest -> 400); this
module only speaks HTTP.

Plain HTTP on loopback, no authentication (the real one uses TLS and webhook authn).
Like the API server's HTTP layer: TCP_NODELAY and headers+body in one write, so a
keep-alive request does not wait 40 ms for a delayed ACK.
"""
from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from minik8s.httpstream import peer_gone, write_chunk
from minik8s.api import errors

log = logging.getLogger("minik8s.kubelet.server")


class KubeletServer:
    """`KubeletServer(kubelet, host, port=0).start()`; `.port` is the bound port."""

    def __init__(self, kubelet, host: str, port: int = 0):
        self.kubelet = kubelet
        self.host = host
        self.stopping = threading.Event()
        self._httpd = _HTTPServer((host, port), _Handler)
        self._httpd.owner = self
        self.port = self._httpd.server_address[1]
        self._thread = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "KubeletServer":
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        name=f"kubelet-http-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, end open log streams, release the port."""
        self.stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(5)
        self._httpd.server_close()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64
    owner: KubeletServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _HTTPServer

    def log_message(self, fmt, *args):
        log.debug("%s %s", self.address_string(), fmt % args)

    def do_GET(self):
        url = urlsplit(self.path)
        parts = [unquote(p) for p in url.path.split("/") if p]
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        kubelet = self.server.owner.kubelet
        try:
            if parts == ["healthz"]:
                return self._send(200, b"ok", "text/plain; charset=utf-8")
            if parts == ["pods"]:
                body = {"kind": "PodList", "apiVersion": "v1", "metadata": {},
                        "items": kubelet.pods()}
                return self._send(200, json.dumps(body, separators=(",", ":")).encode(),
                                  "application/json")
            if parts and parts[0] == "containerLogs":
                if len(parts) != 4:
                    raise errors.BadRequest('{"message": "Missing podID."}' if len(parts) < 3
                                            else "container name is required")
                return self._logs(kubelet, parts[1], parts[2], parts[3], query)
            raise errors.NotFound("404 page not found")
        except errors.APIError as e:
            self._send(e.code, e.message.encode(), "text/plain; charset=utf-8")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as e:        # a bug: say so, keep serving
            log.exception("kubelet server: %s", self.path)
            self._send(500, f"internal error: {e!r}".encode(), "text/plain; charset=utf-8")

    # --- logs ------------------------------------------------------------------

    def _logs(self, kubelet, namespace: str, pod: str, container: str, query: dict) -> None:
        options = log_options(query)
        if not options.pop("follow"):
            data = kubelet.container_logs(namespace, pod, container, **options)
            return self._send(200, data, "text/plain")
        chunks = iter(kubelet.follow_logs(namespace, pod, container, **options))
        # The first chunk is taken before answering, so an error the kubelet finds
        # (no such pod, container waiting) still becomes a status code.
        try:
            first = next(chunks)
        except StopIteration:
            first = None
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                         b"Transfer-Encoding: chunked\r\nCache-Control: no-cache, private\r\n\r\n")
        self.close_connection = True
        try:
            if first:
                self._chunk(first)
            if first is not None:
                for chunk in chunks:
                    if self.server.owner.stopping.is_set():
                        break
                    if chunk:
                        self._chunk(chunk)
                    elif self._client_gone():
                        return     # an empty chunk is the kubelet's "still here" tick
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception:     # the headers are out: end the stream without its last chunk
            log.exception("kubelet server: log stream of %s/%s/%s", namespace, pod, container)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    def _chunk(self, data: bytes) -> None:
        write_chunk(self.wfile, data)
        self.wfile.flush()

    def _client_gone(self) -> bool:
        return peer_gone(self.connection)

    def _send(self, code: int, body: bytes, content_type: str) -> None:
        head = (f"HTTP/1.1 {code} {self.responses.get(code, ('',))[0]}\r\n"
                f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
                "Cache-Control: no-cache, private\r\n\r\n")
        self.wfile.write(head.encode() + body)
        self.log_request(code, len(body))


def log_options(query: dict) -> dict:
    """The kubelet's keyword arguments from the query (PodLogOptions' names)."""
    def flag(name):
        return query.get(name, "").lower() in ("true", "1")

    def number(name):
        v = query.get(name)
        if v in (None, ""):
            return None
        try:
            n = int(v)
        except ValueError:
            raise errors.BadRequest(f'invalid {name}: "{v}"') from None
        if n < 0:
            raise errors.BadRequest(f"{name}: Invalid value: {n}: must be greater than or "
                                    "equal to 0")
        return n
    return {"follow": flag("follow"), "previous": flag("previous"),
            "timestamps": flag("timestamps"), "tail_lines": number("tailLines"),
            "since_seconds": number("sinceSeconds"), "limit_bytes": number("limitBytes")}
