"""Streaming over HTTP/1.1: the two pieces both of minik8s's HTTP servers need.

The API server streams watches and `kubectl logs -f`; the kubelet streams container
logs. Both write `Transfer-Encoding: chunked` bodies and, while a stream is quiet,
must notice that the client has gone (a socket that turns readable with no data), or
a departed `kubectl get -w` would hold a thread forever.
"""
from __future__ import annotations

import select
import socket


def write_chunk(wfile, data: bytes) -> None:
    """One chunk of a chunked body (never empty: an empty chunk ends the body)."""
    wfile.write(b"%x\r\n%s\r\n" % (len(data), data))


def peer_gone(conn: socket.socket) -> bool:
    """True when the client closed its end: readable, and a peek reads nothing."""
    try:
        readable, _, _ = select.select([conn], [], [], 0)
        return bool(readable) and conn.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True
