"""The client side of a `?watch=true` stream: chunked JSON lines read on a thread.

kubectl and client-go read a watch as a long HTTP response whose body is one JSON
event per line (`{"type": "MODIFIED", "object": {...}}`), for minutes, until the
server's timeoutSeconds, a 410, or the client closes it. `HTTPWatch` is that, as a
pull-based WatchStream (DESIGN.md §7): a daemon thread reads lines into a buffer,
`poll()` drains it without blocking and `wait()` blocks on a condition.

Pitfalls: closing a socket does not wake a thread blocked reading it (Linux), so
`close()` shuts the socket down; and the response is closed in one place only, the
reader's `finally`, on the watch's own connection pool (`HTTPClient.watch` gives each
watch a session), so a connection is never handed back to a pool that another request
is already using.
"""
from __future__ import annotations

import collections
import json
import socket
import threading
from typing import Optional

import requests

from .interface import WatchEvent


class HTTPWatch:
    """A WatchStream over one `?watch=true` response. A daemon thread reads the
    chunked body line by line (one event per line) into a buffer; `poll()` drains it
    without blocking, `wait()` blocks on its condition. The stream is `closed` once it
    has ended (closed by us, or by the server: timeoutSeconds, a 410, shutdown) and
    every event read before that has been handed out."""

    def __init__(self, resp: Optional[requests.Response], session=None):
        self._resp = resp
        self._session = session              # this watch's own pool, closed with it
        self._cond = threading.Condition()
        self._events: collections.deque = collections.deque()
        self._ended = resp is None           # the reader is done (guarded by _cond)
        self._closing = False                # close() was called: deliver nothing new
        self.error: Optional[BaseException] = None   # why the stream broke, if it did
        self._sock = None
        self._thread = None
        if resp is None:
            return
        # Keep the socket: close() must shut it down, because closing a socket does
        # not wake a thread blocked reading it (on Linux), and until then the server
        # keeps the watch open as well.
        self._sock = getattr(getattr(resp.raw, "connection", None), "sock", None)
        self._thread = threading.Thread(target=self._read, name="http-watch", daemon=True)
        self._thread.start()

    @classmethod
    def ended(cls, events: list) -> "HTTPWatch":
        """A stream that delivers `events` and is then closed (e.g. one 410 ERROR)."""
        w = cls(None)
        w._events.extend(events)
        return w

    def _read(self) -> None:
        try:
            buf = b""
            for chunk in self._resp.iter_content(chunk_size=None):
                buf += chunk
                *lines, buf = buf.split(b"\n")
                events = [_event(json.loads(line)) for line in lines if line.strip()]
                with self._cond:
                    if self._closing:
                        return
                    self._events.extend(events)
                    self._cond.notify_all()
        except Exception as e:               # reset, or shut down by close(): it ends
            if not self._closing:
                self.error = e
        finally:
            with self._cond:
                self._ended = True
                self._cond.notify_all()
            self._resp.close()
            if self._session is not None:
                self._session.close()

    @property
    def closed(self) -> bool:
        with self._cond:
            return (self._ended or self._closing) and not self._events

    def poll(self) -> list:
        with self._cond:
            out = list(self._events)
            self._events.clear()
            return out

    def wait(self, timeout: Optional[float]) -> list:
        with self._cond:
            self._cond.wait_for(lambda: self._events or self._ended or self._closing, timeout)
            out = list(self._events)
            self._events.clear()
            return out

    def close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._resp is not None:
            self._resp.close()


def _event(doc: dict) -> WatchEvent:
    return WatchEvent(doc.get("type", ""), doc.get("object") or {})
