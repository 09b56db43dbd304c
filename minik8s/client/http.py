"""The HTTP client: the Client protocol over the Kubernetes REST API.

In Kubernetes every component reaches the API server through client-go's REST client:
it builds the resource path (`/api/v1/namespaces/<ns>/pods/<name>/<subresource>`, or
`/apis/<group>/<version>/...`), sends JSON, and turns every non-2xx answer's `Status`
body back into a typed error. Watches are long-lived chunked responses, one JSON event
per line, read by a goroutine into a channel. This client does the same with
`requests` (one keep-alive Session) and a reader thread per watch, and behaves like
`InProcessClient` call for call — the tests run the same checks against both.

- Paths come from the kinds table (`minik8s.api.registry`), as client-go's RESTMapper
  gets them from discovery; a kind the table does not know cannot be reached (pass a
  `registry` that has it).
- A request that cannot reach the server (refused, reset, connect timeout) raises
  `ServiceUnavailable`, a read timeout `Timeout`: both retriable, like a 503/504.
- A watch's reader thread fills a buffer, so `poll()` never blocks; 410 arrives as one
  ERROR event, whether the server sends it in the stream or as the answer to the
  request, and the stream then closes — exactly as the in-process stream does.

Left out: TLS client certificates, request retries (callers decide), protobuf, and
rate limiting (client-go's QPS/burst).
"""
from __future__ import annotations

import json
from typing import Optional
from urllib.parse import quote, urlsplit

import requests

from minik8s.api import errors
from minik8s.api.registry import REGISTRY
from minik8s.api.wire import ERROR, ListResult, WatchEvent

from .httpwatch import HTTPWatch
from .interface import binding_body, eviction_body
from .kubeconfig import ClientConfig, load

PATCH_CONTENT_TYPES = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "apply": "application/apply-patch+yaml",    # a JSON body is valid YAML
}
FIELD_MANAGER = "minik8s"          # server-side apply requires a field manager
USER_AGENT = "minik8s-client/0.1"


class HTTPClient:
    def __init__(self, config_or_server_url, *, token: str = "", timeout: float = 30,
                 registry=REGISTRY):
        config = config_or_server_url if isinstance(config_or_server_url, ClientConfig) \
            else ClientConfig(server=str(config_or_server_url))
        self.config = config
        self.server = config.server.rstrip("/")
        self.namespace = config.namespace      # where objects without a namespace go
        self.timeout = timeout
        self.registry = registry
        self.session = requests.Session()
        # Not requests' environment defaults: a ~/.netrc entry would replace our bearer
        # token, and a proxy must not see loopback traffic (Go, hence kubectl, never
        # proxies loopback). Remote servers still honour HTTPS_PROXY / NO_PROXY.
        self.session.trust_env = False
        if urlsplit(self.server).hostname not in ("127.0.0.1", "localhost", "::1"):
            self.session.proxies.update(requests.utils.get_environ_proxies(self.server))
        # Every open watch holds a connection of its own: room for a controller manager's.
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=32)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update({"Accept": "application/json", "User-Agent": USER_AGENT})
        token = token or config.token
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        if config.insecure_skip_tls_verify:
            self.session.verify = False
        elif config.certificate_authority:
            self.session.verify = config.certificate_authority

    @classmethod
    def from_kubeconfig(cls, path: Optional[str] = None, context: Optional[str] = None,
                        **kw) -> "HTTPClient":
        return cls(load(path, context), **kw)

    def close(self) -> None:
        self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- reads -------------------------------------------------------------

    def get(self, resource: str, name: str, namespace: Optional[str] = None) -> dict:
        return self._json("GET", self._path(resource, namespace, name))

    def list(self, resource: str, namespace: Optional[str] = None, *, label_selector: str = "",
             field_selector: str = "", resource_version: str = "", limit: int = 0,
             continue_token: str = "") -> ListResult:
        rt = self._type(resource)
        doc = self._json("GET", self._path(rt, namespace, collection=True), params={
            "labelSelector": label_selector, "fieldSelector": field_selector,
            "resourceVersion": resource_version, "limit": limit or None,
            "continue": continue_token})
        meta = doc.get("metadata") or {}
        items = doc.get("items") or []
        for item in items:
            # kube-apiserver leaves kind/apiVersion out of list items; components expect them.
            item.setdefault("apiVersion", rt.api_version)
            item.setdefault("kind", rt.kind)
        return ListResult(items, meta.get("resourceVersion", ""), doc.get("kind", ""),
                          doc.get("apiVersion", ""), meta.get("continue", ""))

    def watch(self, resource: str, namespace: Optional[str] = None, *,
              resource_version: str = "", label_selector: str = "", field_selector: str = "",
              allow_bookmarks: bool = False,
              timeout_seconds: Optional[int] = None) -> "HTTPWatch":
        path = self._path(resource, namespace, collection=True)
        params = self._params({"watch": "true", "resourceVersion": resource_version,
                               "labelSelector": label_selector,
                               "fieldSelector": field_selector,
                               "allowWatchBookmarks": "true" if allow_bookmarks else "",
                               "timeoutSeconds": timeout_seconds})
        # No read timeout: a quiet watch sends nothing for minutes, and that is fine.
        # A session (connection pool) of its own: closing a watch from another thread
        # races with its reader, and a connection handed back to a shared pool in the
        # middle of that race breaks the next request on it ("ResponseNotReady").
        session = self._watch_session()
        try:
            resp = self._send("GET", path, session=session, params=params, stream=True,
                              timeout=(self.timeout, None))
        except BaseException:
            session.close()
            raise
        if resp.status_code >= 300:
            err = _error_from(resp)
            resp.close()
            session.close()
            if isinstance(err, errors.Gone):
                # "too old" is answered in-band, as one ERROR event (like the pipeline).
                return HTTPWatch.ended([WatchEvent(ERROR, err.to_status())])
            raise err
        return HTTPWatch(resp, session)

    def _watch_session(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False
        session.proxies.update(self.session.proxies)
        session.headers.update(self.session.headers)
        session.verify = self.session.verify
        return session

    # --- writes ------------------------------------------------------------

    def create(self, obj: dict, namespace: Optional[str] = None, *, dry_run: bool = False) -> dict:
        rt = self.registry.for_object(obj)
        ns = namespace or (obj.get("metadata") or {}).get("namespace") or self.namespace
        return self._json("POST", self._path(rt, ns, collection=True), body=obj,
                          params={"dryRun": "All" if dry_run else ""})

    def update(self, obj: dict, *, dry_run: bool = False) -> dict:
        return self._put(obj, "", dry_run)

    def update_status(self, obj: dict) -> dict:
        return self._put(obj, "status", False)

    def finalize(self, namespace: dict) -> dict:
        return self._put(namespace, "finalize", False)

    def _put(self, obj: dict, subresource: str, dry_run: bool) -> dict:
        rt = self.registry.for_object(obj)
        meta = obj.get("metadata") or {}
        path = self._path(rt, meta.get("namespace") or self.namespace, meta.get("name", ""),
                          subresource)
        return self._json("PUT", path, body=obj, params={"dryRun": "All" if dry_run else ""})

    def patch(self, resource: str, name: str, patch, namespace: Optional[str] = None, *,
              patch_type: str = "merge", subresource: str = "", dry_run: bool = False) -> dict:
        if patch_type not in PATCH_CONTENT_TYPES:
            raise errors.UnsupportedMediaType(
                f"unknown patch type {patch_type!r}: one of {', '.join(PATCH_CONTENT_TYPES)}")
        params = {"dryRun": "All" if dry_run else "",
                  "fieldManager": FIELD_MANAGER if patch_type == "apply" else ""}
        return self._json("PATCH", self._path(resource, namespace, name, subresource),
                          body=patch, params=params,
                          content_type=PATCH_CONTENT_TYPES[patch_type])

    def delete(self, resource: str, name: str, namespace: Optional[str] = None, *,
               propagation_policy: str = "", grace_period_seconds: Optional[int] = None,
               preconditions: Optional[dict] = None, dry_run: bool = False) -> dict:
        options = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if propagation_policy:
            options["propagationPolicy"] = propagation_policy
        if grace_period_seconds is not None:
            options["gracePeriodSeconds"] = grace_period_seconds
        if preconditions:
            options["preconditions"] = preconditions
        if dry_run:
            options["dryRun"] = ["All"]
        return self._json("DELETE", self._path(resource, namespace, name), body=options)

    # --- subresources ------------------------------------------------------

    def bind(self, namespace: str, pod_name: str, node_name: str, *, pod_uid: str = "") -> None:
        body = binding_body(namespace, pod_name, node_name, pod_uid)
        self._json("POST", self._path("pods", namespace, pod_name, "binding"), body=body)

    def get_scale(self, resource: str, name: str, namespace: str) -> dict:
        return self._json("GET", self._path(resource, namespace, name, "scale"))

    def scale(self, resource: str, name: str, namespace: str, replicas: int) -> dict:
        return self.patch(resource, name, {"spec": {"replicas": replicas}}, namespace,
                          subresource="scale")

    def evict(self, namespace: str, pod_name: str, *,
              grace_period_seconds: Optional[int] = None) -> None:
        body = eviction_body(namespace, pod_name, grace_period_seconds)
        self._json("POST", self._path("pods", namespace, pod_name, "eviction"), body=body)

    def log(self, namespace: str, pod_name: str, *, container: str = "",
            tail_lines: Optional[int] = None, previous: bool = False) -> str:
        resp = self._request("GET", self._path("pods", namespace, pod_name, "log"),
                             params={"container": container, "tailLines": tail_lines,
                                     "previous": "true" if previous else ""})
        return resp.text

    # --- paths -------------------------------------------------------------

    def _type(self, resource):
        if not isinstance(resource, str):
            return resource                      # already a ResourceType
        return self.registry.lookup(resource)

    def _path(self, resource, namespace: Optional[str], name: str = "",
              subresource: str = "", *, collection: bool = False) -> str:
        """client-go's request path: group prefix, namespace (namespaced kinds only),
        plural, name, subresource. A namespaced object needs its namespace (as the
        pipeline says); a cluster-scoped kind ignores the one it is given."""
        rt = self._type(resource)
        path = f"/apis/{rt.group}/{rt.version}" if rt.group else f"/api/{rt.version}"
        if rt.namespaced and namespace:
            path += f"/namespaces/{_segment(namespace)}"
        elif rt.namespaced and not collection:
            raise errors.BadRequest(f"the namespace of the object is required for {rt.plural}")
        path += f"/{rt.plural}"
        if name:
            path += f"/{_segment(name)}"
        if subresource:
            path += f"/{subresource}"
        return path

    @staticmethod
    def _params(params: Optional[dict]) -> dict:
        # Leave out what was not asked for; 0 is meaningful (gracePeriodSeconds=0).
        return {k: v for k, v in (params or {}).items() if v is not None and v != ""}

    # --- the wire ------------------------------------------------------------

    def _json(self, method: str, path: str, *, body=None, params=None,
              content_type: str = "application/json"):
        resp = self._request(method, path, body=body, params=params, content_type=content_type)
        try:
            return resp.json()
        except ValueError:
            raise errors.InternalError(f"{method} {path}: the server answered "
                                       f"{resp.status_code} with a body that is not JSON: "
                                       f"{resp.text[:200]!r}") from None

    def _request(self, method: str, path: str, *, body=None, params=None,
                 content_type: str = "application/json") -> requests.Response:
        data = None
        headers = {}
        if body is not None:
            data = json.dumps(body, separators=(",", ":")).encode()
            headers["Content-Type"] = content_type
        resp = self._send(method, path, params=self._params(params), data=data,
                          headers=headers, timeout=self.timeout)
        if resp.status_code >= 300:
            raise _error_from(resp)
        return resp

    def _send(self, method: str, path: str, session=None, **kw) -> requests.Response:
        try:
            return (session or self.session).request(method, self.server + path, **kw)
        except requests.exceptions.ConnectTimeout as e:
            raise errors.ServiceUnavailable(f"the connection to the server {self.server} "
                                            f"timed out: {e}") from None
        except requests.exceptions.ReadTimeout as e:
            raise errors.Timeout(f"{method} {path}: no answer from {self.server} within "
                                 f"{self.timeout}s: {e}") from None
        except requests.exceptions.RequestException as e:   # refused, reset, cut short
            raise errors.ServiceUnavailable(f"the connection to the server {self.server} "
                                            f"failed: {e}") from None


def _segment(s: str) -> str:
    # Object names are DNS-like, but RBAC names carry ':' ("system:node"): keep it readable.
    return quote(s, safe=":@")


def _error_from(resp: requests.Response) -> errors.APIError:
    """A non-2xx answer as a typed error: the Status body if there is one (reason
    first, then code), else a class chosen by the HTTP code."""
    return error_from(resp.status_code, resp.text, resp.headers.get("Retry-After"))


def error_from(code: int, text: str, retry_after: Optional[str] = None) -> errors.APIError:
    try:
        status = json.loads(text) if text else None
    except ValueError:
        status = None
    if not (isinstance(status, dict) and status.get("kind") == "Status"):
        # A proxy or a broken server: no Status, so the code and body are all we have.
        status = {"code": code, "message": (text or "").strip()[:500] or
                  f"the server responded with HTTP {code}"}
    status.setdefault("code", code)
    if retry_after and retry_after.isdigit():
        status.setdefault("details", {}).setdefault("retryAfterSeconds", int(retry_after))
    return errors.APIError.from_status(status, code)
