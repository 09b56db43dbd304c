"""The HTTP layer: the Kubernetes REST API over the request pipeline.

kube-apiserver is an HTTPS server; what kubectl needs from it is written down, as
measured, in `../shared/kubectl-contract.md`. This layer is deliberately thin: it
turns a URL into a `Request` (routes.py), decodes the body (JSON — also when no
Content-Type is sent —, YAML, the patch content types, and the protobuf that
`kubectl create <generator>` sends: protobuf.py), applies field validation
(openapi.py), calls `APIServer.handle`, and writes the answer — an object, a list, a
server-side `Table` when kubectl asks for one (`Accept: ...;as=Table`), a chunked
stream of watch events, or a `Status` for every error, including http.server's own
(bad request line, unknown method). Everything with meaning lives in the pipeline.

Plain HTTP on loopback, no TLS (contract §2.1). `disable_nagle_algorithm` matters:
without it a keep-alive response waits ~40 ms for a delayed ACK.
"""
from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml

from minik8s.httpstream import peer_gone, write_chunk
from minik8s.api import errors
from minik8s.api.wire import ERROR

from . import discovery, openapi, protobuf, routes
from .tables import event_table, to_table, wants_table, TABLE_CONTENT_TYPE

log = logging.getLogger("minik8s.apiserver")
MAX_BODY = 3 * 1024 * 1024      # kube-apiserver's default request size limit (3 MiB)
MAX_DRAIN = 64 * 1024 * 1024    # read (and drop) a too-large body up to this, then answer
WATCH_POLL = 0.5                # seconds between checks that a watcher is still there


class APIHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # The listen backlog: socketserver's default of 5 resets connections when many
    # informers and kubectl connect at once (measured: 23 of 64 reset; 0 with 128).
    request_queue_size = 128

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

    def send_error(self, code, message=None, explain=None):
        """http.server's own errors (a bad request line, a method it has no do_X for)
        answered like everything else: with a Status. kube-apiserver answers an
        unsupported method with 405."""
        if code == 501:
            code, message = 405, routes.NOT_ALLOWED
        err = errors.APIError.from_status({"code": code, "message": message or ""})
        self.close_connection = True
        body = b"" if self.command == "HEAD" else \
            json.dumps(err.to_status(), separators=(",", ":")).encode()
        self._send(code, body, "application/json")

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
                req.patch_type = routes.PATCH_CONTENT_TYPES[self._content_type()]
            if req.verb in ("delete", "deletecollection"):
                routes.apply_delete_options(req, body)
            elif req.verb in ("create", "update", "patch"):
                # Unknown fields: Strict refuses, Warn (the default) drops them with a
                # `Warning` header each, Ignore drops them silently (openapi.py).
                req.body, self._warnings = openapi.validate_fields(
                    req, body, query.get("fieldValidation", ""))
            if req.verb == "watch":
                return self._watch(req)
            result = self.server.api.handle(req)
            if req.subresource == "log":
                if not isinstance(result, (str, bytes)):
                    return self._stream_log(result)          # follow=true (nodeproxy.py)
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
        """The whole body, by Content-Length (or chunked). Always consumed, even when
        refused: bytes left unread would be parsed as the next keep-alive request, and a
        socket closed with unread data resets before the client reads our answer."""
        self._warnings = []
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            raise errors.BadRequest("invalid Content-Length header")
        if length > MAX_BODY:
            self._drain(length)
            raise errors.RequestEntityTooLarge(f"Request entity too large: limit is {MAX_BODY}")
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        body = bytearray()
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass                            # trailers
                return bytes(body)
            if len(body) + size > MAX_BODY:
                self._drain(size)
                self.close_connection = True        # the rest of the stream is unread
                raise errors.RequestEntityTooLarge(f"Request entity too large: limit is "
                                                   f"{MAX_BODY}")
            body += self.rfile.read(size)
            self.rfile.readline()

    def _drain(self, length: int) -> None:
        if length > MAX_DRAIN:
            self.close_connection = True
            return
        while length > 0:
            got = self.rfile.read(min(length, 1 << 20))
            if not got:
                break
            length -= len(got)

    def _content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    def _decode_body(self, raw: bytes, verb: str):
        """JSON — also when no Content-Type is sent (the Python client's POST/PUT,
        `kubectl scale --current-replicas`), YAML, protobuf (`kubectl create <generator>`)
        for create/update; a PATCH by its patch type (server-side apply's is YAML)."""
        ct = self._content_type()
        if verb == "patch":
            if ct not in routes.PATCH_CONTENT_TYPES:
                raise _unsupported(routes.PATCH_CONTENT_TYPES)
            fmt = "yaml" if ct == "application/apply-patch+yaml" else "json"
        elif ct in ("", "application/json", "*/*"):
            fmt = "json"
        elif ct in ("application/yaml", "application/x-yaml", "text/yaml"):
            fmt = "yaml"
        elif ct == protobuf.CONTENT_TYPE and verb in ("create", "update"):
            fmt = "protobuf"
        elif raw:
            raise _unsupported(("application/json", "application/yaml", protobuf.CONTENT_TYPE))
        if not raw:
            return None
        if fmt == "protobuf":
            return protobuf.decode(raw)
        try:
            return json.loads(raw) if fmt == "json" else yaml.safe_load(raw)
        except (ValueError, yaml.YAMLError) as e:
            raise errors.BadRequest(f"the body of the request could not be decoded as "
                                    f"{fmt.upper()}: {e}") from None

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
        # RFC 7234 warn-text is a quoted string: escape its quotes (kubectl unquotes it).
        head += ['Warning: 299 - "%s"' % w.replace("\\", "\\\\").replace('"', '\\"')
                 for w in getattr(self, "_warnings", [])]
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
                        obj = event_table(req, ev, self.server.api.clock.now(),
                                          req.params.get("includeObject", "Metadata"))
                    line = json.dumps({"type": ev.type, "object": obj},
                                      separators=(",", ":")).encode() + b"\n"
                    write_chunk(self.wfile, line)
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

    def _stream_log(self, chunks) -> None:
        """`logs -f` (contract §3.8): the kubelet's chunks as they come, ended when the
        container exits. An empty chunk is the proxy's heartbeat: a moment to check
        whether our client left. Closing the iterator hangs up on the kubelet."""
        try:
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                             b"Transfer-Encoding: chunked\r\n"
                             b"Cache-Control: no-cache, private\r\n\r\n")
            for chunk in chunks:
                if chunk:
                    write_chunk(self.wfile, chunk)
                    self.wfile.flush()
                elif self.server.stopping.is_set() or self._client_gone():
                    return
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            self.close_connection = True
            getattr(chunks, "close", lambda: None)()

    def _client_gone(self) -> bool:
        return peer_gone(self.connection)


def _unsupported(accepted) -> errors.UnsupportedMediaType:
    return errors.UnsupportedMediaType("the body of the request was in an unknown format - "
                                       f"accepted media types include: {', '.join(accepted)}")


def serve(api, host: str = "127.0.0.1", port: int = 6443, *, log_requests=False):
    """Start serving in a background thread; returns the server (`.shutdown()` stops it)."""
    httpd = APIHTTPServer((host, port), api, log_requests=log_requests)
    threading.Thread(target=httpd.serve_forever, args=(0.1,), name="apiserver-http", daemon=True).start()
    return httpd
