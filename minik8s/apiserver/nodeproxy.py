"""The API server's connection to kubelets: `pods/log` proxied to the pod's node.

In Kubernetes `GET /api/v1/namespaces/ns/pods/x/log` is not answered from etcd: the
API server picks the container (`validateContainer`), finds the pod's Node, takes its
preferred address and `status.daemonEndpoints.kubeletEndpoint.Port`, and streams the
kubelet's `GET /containerLogs/<ns>/<pod>/<container>?<options>` back to the client
(pkg/registry/core/pod: LogLocation + LocationStreamer). A kubelet error becomes a
Status: 400 keeps the kubelet's text (`container "c" in pod "p" is waiting to start:
ContainerCreating`), 404 says "the server could not find the requested resource" with
the kubelet's text as a cause, 500 is "an error on the server (...)". A kubelet that
does not answer is the dial error as Go prints it, with code 500.

`make_node_proxy(api_server)` returns the `node_proxy(pod, what, options)` function
the pipeline calls (subresources.py): for `follow` it returns an iterator of byte
chunks that ends when the kubelet ends the stream (the container exited) and yields
`b""` every HEARTBEAT seconds of silence, so the HTTP layer can notice that its own
client left and close the iterator (which hangs up on the kubelet).

The API server never imports the node package: this module speaks HTTP to whatever
serves the kubelet's paths (minik8s.node.server, or a Ray-hosted one later).
"""
from __future__ import annotations

import http.client
import json
import queue
import socket
import threading
from urllib.parse import quote, urlencode

from minik8s.api import errors

KUBELET_PORT = 10250          # the kubelet's default port, if a Node does not say
CONNECT_TIMEOUT = 10.0
HEARTBEAT = 0.5               # seconds of silence before a follow stream yields b""
# kube-apiserver's default --kubelet-preferred-address-types puts Hostname first; our
# node names do not resolve, so the address the kubelet binds comes first here.
ADDRESS_TYPES = ("InternalIP", "ExternalIP", "InternalDNS", "ExternalDNS", "Hostname")


def make_node_proxy(api_server, *, timeout: float = CONNECT_TIMEOUT):
    """The `node_proxy` for APIServer(node_proxy=...)."""

    def node_proxy(pod: dict, what: str, options: dict):
        if what != "log":
            raise errors.MethodNotAllowed(f"{what} is not supported by the kubelet proxy")
        options = dict(options)
        container = validate_container(options.get("container") or "", pod)
        node = api_server.read("nodes", pod["spec"]["nodeName"])
        host, port = kubelet_location(node)
        ns, name = pod["metadata"].get("namespace", "default"), pod["metadata"]["name"]
        path = "/containerLogs/" + "/".join(quote(p, safe="") for p in (ns, name, container))
        query = log_query(options)
        url = f"http://{_join(host, port)}{path}" + (f"?{query}" if query else "")
        conn, sock, resp = _get(host, port, path + (f"?{query}" if query else ""), url, timeout)
        if not 200 <= resp.status <= 206:
            body = resp.read(64 * 1024).decode("utf-8", "replace")
            conn.close()
            raise kubelet_error(resp.status, body, name)
        if options.get("follow"):
            return _follow(conn, sock, resp)
        try:
            return resp.read().decode("utf-8", "replace")
        finally:
            conn.close()
    return node_proxy


def validate_container(container: str, pod: dict) -> str:
    """kube-apiserver's validateContainer: the one container, or the named one."""
    spec = pod.get("spec") or {}
    name = pod["metadata"]["name"]
    every = [c["name"] for key in ("initContainers", "containers", "ephemeralContainers")
             for c in spec.get(key) or []]
    if not container:
        containers = spec.get("containers") or []
        if len(containers) == 1:
            return containers[0]["name"]
        if not containers:
            raise errors.BadRequest(f"a container name must be specified for pod {name}")
        raise errors.BadRequest(f"a container name must be specified for pod {name}, "
                                f"choose one of: [{' '.join(every)}]")
    if container not in every:
        raise errors.BadRequest(f"container {container} is not valid for pod {name}")
    return container


def kubelet_location(node: dict) -> tuple:
    """(address, port) of the node's kubelet."""
    status = node.get("status") or {}
    addresses = status.get("addresses") or []
    for kind in ADDRESS_TYPES:
        for a in addresses:
            if a.get("type") == kind and a.get("address"):
                endpoint = (status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}
                port = endpoint.get("Port")
                return a["address"], int(port or KUBELET_PORT)
    known = ", ".join(f"{{{a.get('type')} {a.get('address')}}}" for a in addresses)
    raise errors.InternalError(f"no preferred addresses found; known addresses: [{known}]")


def log_query(options: dict) -> str:
    """PodLogOptions as the kubelet's query, in LogLocation's order."""
    params = []
    for key in ("follow", "previous", "timestamps"):
        if options.get(key):
            params.append((key, "true"))
    for key in ("sinceSeconds", "tailLines", "limitBytes"):
        if options.get(key) is not None:
            params.append((key, str(int(options[key]))))
    return urlencode(params)


_GENERIC = {   # apimachinery's NewGenericServerResponse: code -> (class, message)
    401: (errors.Unauthorized, "the server has asked for the client to provide credentials"),
    404: (errors.NotFound, "the server could not find the requested resource"),
    405: (errors.MethodNotAllowed, "the server does not allow this method on the requested "
                                   "resource"),
    409: (errors.Conflict, "the server reported a conflict"),
    429: (errors.TooManyRequests, "the server has received too many requests and has asked "
                                  "us to try again later"),
    503: (errors.ServiceUnavailable, "the server is currently unable to handle the request"),
    504: (errors.Timeout, "the server was unable to return a response in the time allotted, "
                          "but may still be processing the request"),
}


def kubelet_error(code: int, body: str, pod_name: str) -> errors.APIError:
    """What kube-apiserver makes of a kubelet's error answer (GenericHttpResponseChecker)."""
    if code == 400:
        return errors.BadRequest(body)
    if code == 500:
        return errors.InternalError(f"an error on the server ({json.dumps(body)}) has "
                                    "prevented the request from succeeding")
    if code == 403:
        cls, message = errors.Forbidden, body
    else:
        cls, message = _GENERIC.get(code, (errors.APIError, f"the server responded with the "
                                           f"status code {code} but did not return more "
                                           "information"))
    causes = [errors.Cause("", "UnexpectedServerResponse", body)] if body else []
    err = cls(message, kind="pods/log", name=pod_name, causes=causes)
    if cls is errors.APIError:
        err.code, err.reason = code, "Unknown"
    return err


def _join(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _get(host, port, target, url, timeout):
    """Connect and send the GET; errors read like Go's dial errors."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.connect()
        sock = conn.sock
        conn.request("GET", target, headers={"Accept": "*/*"})
        return conn, sock, conn.getresponse()
    except ConnectionRefusedError:
        conn.close()
        raise _unknown(f'Get "{url}": dial tcp {_join(host, port)}: connect: connection '
                       'refused') from None
    except (socket.timeout, TimeoutError):
        conn.close()
        raise _unknown(f'Get "{url}": dial tcp {_join(host, port)}: i/o timeout') from None
    except (OSError, http.client.HTTPException) as e:
        conn.close()
        raise _unknown(f'Get "{url}": {e}') from None


def _unknown(message: str) -> errors.APIError:
    """A plain Go error reaching the API server's error writer: code 500, reason Unknown."""
    err = errors.InternalError(message)
    err.reason = "Unknown"
    return err


def _follow(conn, sock, resp):
    """The kubelet's chunked stream as an iterator; a reader thread fills a queue so
    the iterator can yield b"" while the kubelet is silent, and closing the iterator
    shuts the socket, which ends the reader."""
    sock.settimeout(None)            # a quiet container is not an error
    chunks: queue.Queue = queue.Queue()

    def pump():
        try:
            while data := resp.read1(64 * 1024):
                chunks.put(data)
        except (OSError, ValueError, http.client.HTTPException):
            pass
        finally:
            chunks.put(None)
    reader = threading.Thread(target=pump, name="kubelet-log-follow", daemon=True)
    reader.start()

    def stream():
        try:
            while True:
                try:
                    data = chunks.get(timeout=HEARTBEAT)
                except queue.Empty:
                    yield b""
                    continue
                if data is None:
                    return
                yield data
        finally:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            reader.join(1)
            resp.close()
            conn.close()
    return stream()
