"""The HTTP layer: the Kubernetes REST API over the request pipeline.

kube-apiserver is an HTTPS server; what kubectl needs from it is written down, as
measured, in `../shared/kubectl-contract.md`. This layer is deliberately thin: it
turns a URL into a `Request` (routes.py), decodes the body (JSON, YAML, or the patch
content types), calls `APIServer.handle`, and writes the answer — an object, a list,
a server-side `Table` when kubectl asks for one (`Accept: ...;as=Table`), a chunked
stream of watch events, or a `Status` for every error. Everything with meaning lives
in the pipeline.

Plain HTTP on loopback, no TLS (contract §2.1). `disable_nagle_algorithm` matters:
without it a keep-alive response waits ~40 ms for a delayed ACK.
"""
from __future__ import annotations

import json
import logging
import select
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml

from minik8s.api import errors
from minik8s.api.wire import ERROR

from . import discovery, openapi, routes
from .tables import to_table, wants_table, TABLE_CONTENT_TYPE

log = logging.getLogger("minik8s.apiserver")
MAX_BODY = 3 * 1024 * 1024      # kube-apiserver's default request size limit (3 MiB)
WATCH_POLL = 0.5                # seconds between checks that a watcher is still there


class APIHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, api, *, log_requests: bool = False):
        self.api = api
        self.log_requests = log_requests
        self.stopping = threading.Event()
        super().__init__(address, Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: APIHTTPServer

    def log_message(self, fmt, *args):
        if self.server.log_requests:
            log.info("%s %s", self.address_string(), fmt % args)

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_PATCH(self):
        self._dispatch("PATCH")

    def do_DELETE(self):
        self._dispatch("DELETE")

    # --- dispatch ------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        try:
            raw = self._read_body()
            segments, query, _ = routes.split_url(self.path)
            if self._non_resource(method, segments, query):
                return
            req = routes.resolve(method, segments, query, self.server.api.registry)
            if req is None:
                raise errors.NotFound("the server could not find the requested resource")
            req.token = self._bearer_token()
            body = self._decode_body(raw, req.verb)
            if req.verb == "patch":
                req.patch_type = self._patch_type()
            if req.verb in ("delete", "deletecollection"):
                routes.apply_delete_options(req, body)
            elif req.verb in ("create", "update", "patch"):
                req.body = body
                strict = query.get("fieldValidation", "")
                if strict in ("Strict", "Warn") and req.verb != "patch" or \
                        (strict and req.patch_type == "apply"):
                    problems = openapi.unknown_fields(req.resource, req.group, body)
                    if problems and strict == "Strict":
                        raise errors.BadRequest(openapi.strict_message(req, body, problems))
                    self._warnings = [f'unknown field "{p}"' for p in problems]
            if req.verb == "watch":
                return self._watch(req)
            result = self.server.api.handle(req)
            if req.subresource == "log":
                return self._send(200, result.encode() if isinstance(result, str) else result,
                                  "text/plain")
            code = 201 if req.verb == "create" else 200
            if req.verb in ("get", "list") and wants_table(self.headers.get("Accept", "")):
                table = to_table(req, result, self.server.api.clock.now(),
                                 query.get("includeObject", "Metadata"))
                return self._send_json(code, table, TABLE_CONTENT_TYPE)
            if hasattr(result, "to_dict"):
                result = result.to_dict()
            self._send_json(code, result)
        except errors.APIError as e:
            self._send_json(e.code, e.to_status())
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as e:   # a bug: answer like kube-apiserver, keep serving
            log.exception("internal error on %s %s", method, self.path)
            self._send_json(500, errors.InternalError(f"an error on the server ({e!r}) has "
                                                      "prevented the request from succeeding")
                            .to_status())

    def _non_resource(self, method, segments, query) -> bool:
        path = "/" + "/".join(segments)
        api = self.server.api
        if method != "GET":
            return False
        if path == "/version":
            self._send_json(200, discovery.VERSION)
        elif path in ("/healthz", "/livez", "/readyz"):
            self._send(200, b"ok", "text/plain")
        elif path == "/api":
            host, port = self.server.server_address[:2]
            self._send_json(200, discovery.api_versions(f"{host}:{port}"))
        elif path == "/apis":
            self._send_json(200, discovery.api_group_list(api.registry))
        elif path == "/api/v1":
            self._send_json(200, discovery.api_resource_list(api.registry, "", "v1"))
        elif len(segments) == 2 and segments[0] == "apis":
            doc = discovery.api_group(api.registry, segments[1])
            if doc is None:
                raise errors.NotFound("the server could not find the requested resource")
            self._send_json(200, doc)
        elif len(segments) == 3 and segments[0] == "apis":
            doc = discovery.api_resource_list(api.registry, segments[1], segments[2])
            if doc is None:
                raise errors.NotFound("the server could not find the requested resource")
            self._send_json(200, doc)
        elif segments[:2] == ["openapi", "v3"]:
            doc = openapi.document(api.registry, segments[2:])
            if doc is None:
                raise errors.NotFound("the server could not find the requested resource")
            self._send_json(200, doc)
        elif segments[:2] == ["openapi", "v2"]:
            raise errors.NotFound("the server could not find the requested resource")
        else:
            return False
        return True

    # --- bodies ------------------------------------------------------------

    def _read_body(self) -> bytes:
        self._warnings = []
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            # Drain what we can so the client sees the answer, then drop the connection.
            self.close_connection = True
            raise errors.RequestEntityTooLarge(
                f"the request body is too large: {length} bytes, the limit is {MAX_BODY}")
        return self.rfile.read(length) if length else b""

    def _content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    def _decode_body(self, raw: bytes, verb: str):
        if not raw:
            return None
        ct = self._content_type()
        try:
            if ct in ("", "application/json", "*/*") or ct in routes.PATCH_CONTENT_TYPES:
                return json.loads(raw)
            if ct in ("application/yaml", "application/x-yaml", "text/yaml"):
                return yaml.safe_load(raw)
        except (ValueError, yaml.YAMLError) as e:
            raise errors.BadRequest(f"the body of the request could not be decoded: {e}") from None
        raise errors.UnsupportedMediaType(
            f'the body of the request was in an unknown format - accepted media types '
            f'include: application/json, application/yaml (got "{ct}")')

    def _patch_type(self) -> str:
        ct = self._content_type()
        if ct not in routes.PATCH_CONTENT_TYPES:
            raise errors.UnsupportedMediaType(
                f'the body of the request was in an unknown format - accepted media types '
                f'include: {", ".join(routes.PATCH_CONTENT_TYPES)}')
        return routes.PATCH_CONTENT_TYPES[ct]

    def _bearer_token(self) -> str:
        auth = self.headers.get("Authorization") or ""
        return auth[7:].strip() if auth.lower().startswith("bearer ") else ""

    # --- responses ---------------------------------------------------------

    def _send_json(self, code: int, obj, content_type: str = "application/json") -> None:
        self._send(code, json.dumps(obj, separators=(",", ":")).encode(), content_type)

    def _send(self, code: int, body: bytes, content_type: str) -> None:
        head = [f"HTTP/1.1 {code} {self.responses.get(code, ('',))[0]}",
                f"Content-Type: {content_type}", f"Content-Length: {len(body)}",
                "Cache-Control: no-cache, private"]
        head += [f'Warning: 299 - "{w}"' for w in getattr(self, "_warnings", [])]
        if self.close_connection:
            head.append("Connection: close")
        # Headers and body in one write: no Nagle/delayed-ACK stall (DESIGN.md §6).
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        self.log_request(code, len(body))

    # --- watch -------------------------------------------------------------

    def _watch(self, req) -> None:
        stream = self.server.api.handle(req)
        table = wants_table(self.headers.get("Accept", ""))
        ctype = TABLE_CONTENT_TYPE if table else "application/json"
        self.wfile.write((f"HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\n"
                          "Transfer-Encoding: chunked\r\nCache-Control: no-cache, private\r\n"
                          "\r\n").encode())
        try:
            while not self.server.stopping.is_set():
                events = stream.wait(WATCH_POLL)
                for ev in events:
                    obj = ev.object
                    if table and ev.type != ERROR:
                        obj = to_table(req, obj, self.server.api.clock.now(), "Metadata")
                    line = json.dumps({"type": ev.type, "object": obj},
                                      separators=(",", ":")).encode() + b"\n"
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                if events:
                    self.wfile.flush()
                if stream.closed or (not events and self._client_gone()):
                    break
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            stream.close()
            self.close_connection = True

    def _client_gone(self) -> bool:
        """A client that left makes the socket readable with no data."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True


def serve(api, host: str = "127.0.0.1", port: int = 6443, *, log_requests=False):
    """Start serving in a background thread; returns the server (`.shutdown()` stops it)."""
    httpd = APIHTTPServer((host, port), api, log_requests=log_requests)
    threading.Thread(target=httpd.serve_forever, name="apiserver-http", daemon=True).start()
    return httpd
