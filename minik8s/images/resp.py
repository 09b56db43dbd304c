"""RESP, the REdis Serialization Protocol: the codec and a minimal client.

Redis clients talk to the server over TCP in RESP. A command is an array of
binary-safe bulk strings (`*2\\r\\n$3\\r\\nGET\\r\\n$6\\r\\nhashes\\r\\n`); a reply is a
simple string (`+OK`), an error (`-ERR ...`), an integer (`:42`), a bulk string
(`$5\\r\\nhello\\r\\n`, `$-1` for nil) or an array of replies. A line typed by hand
(`PING`, as `telnet` or `nc` send it) is an "inline command", split on spaces.

Bulk strings carry their length, so keys and values may hold any byte, CR and LF
included: a reader must read bulk data by length, never by line (the pitfall).

Used by the `redis` image (the server side: `read_command`, `encode`) and by the
DockerCoins worker and webui (the client side: `Client`). Left out: RESP3 and pipelining
helpers.
"""
from __future__ import annotations

import socket
import threading
from typing import Optional

MAX_BULK = 512 * 1024 * 1024            # Redis' proto-max-bulk-len
MAX_ARRAY = 1024 * 1024


class Simple(str):
    """A simple-string reply (`+OK`), as opposed to a bulk string."""


class Error(Exception):
    """An error reply; the text starts with its kind (`ERR`, `WRONGTYPE`)."""


class ProtocolError(Error):
    """The client broke RESP: Redis answers `-ERR Protocol error: ...` and hangs up."""


def encode(reply) -> bytes:
    """One reply in RESP2. bytes/str are bulk strings, None is the nil bulk string."""
    if isinstance(reply, Simple):
        return b"+" + reply.encode() + b"\r\n"
    if isinstance(reply, Error):
        return b"-" + str(reply).encode() + b"\r\n"
    if isinstance(reply, bool) or not isinstance(reply, (int, bytes, str, list, type(None))):
        raise TypeError(f"no RESP encoding for {reply!r}")
    if isinstance(reply, int):
        return b":%d\r\n" % reply
    if reply is None:
        return b"$-1\r\n"
    if isinstance(reply, list):
        return b"*%d\r\n" % len(reply) + b"".join(encode(r) for r in reply)
    data = reply.encode() if isinstance(reply, str) else reply
    return b"$%d\r\n%s\r\n" % (len(data), data)


def encode_command(*args) -> bytes:
    """A command as clients send it: an array of bulk strings."""
    return encode([a if isinstance(a, bytes) else str(a).encode() for a in args])


def _length(line: bytes, what: str, lowest: int, limit: int) -> int:
    try:
        n = int(line[1:])
    except ValueError:
        n = lowest - 1
    if n < lowest or n > limit:
        raise ProtocolError(f"ERR Protocol error: invalid {what} length")
    return n


def read_command(rfile) -> Optional[list]:
    """The next command from a client: a list of bytes ([] for a blank inline line),
    or None at end of stream. Raises ProtocolError on malformed input."""
    line = rfile.readline(65536)
    if not line:
        return None
    if not line.startswith(b"*"):
        return line.split()                              # an inline command
    args = []
    for _ in range(max(_length(line.rstrip(b"\r\n"), "multibulk", -1, MAX_ARRAY), 0)):
        head = rfile.readline(65536)
        if not head.startswith(b"$"):
            got = chr(head[0]) if head else ""
            raise ProtocolError(f"ERR Protocol error: expected '$', got '{got}'")
        n = _length(head.rstrip(b"\r\n"), "bulk", 0, MAX_BULK)
        data = rfile.read(n + 2)                         # binary-safe: read by length
        if len(data) < n + 2:
            return None
        args.append(data[:n])
    return args


def read_reply(rfile):
    """The next reply, decoded: Simple, int, bytes, None, list; an error reply raises
    Error; a closed connection raises ConnectionError."""
    line = rfile.readline()
    if not line.endswith(b"\r\n"):
        raise ConnectionError("redis closed the connection")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return Simple(rest.decode())
    if kind == b"-":
        raise Error(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        return None if n < 0 else rfile.read(n + 2)[:n]
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [read_reply(rfile) for _ in range(n)]
    raise ConnectionError(f"not a RESP reply: {line[:40]!r}")


class Client:
    """A minimal Redis client: one connection, one command at a time (thread-safe).
    After a connection error the next command reconnects."""

    def __init__(self, host: str, port: int, timeout: float = 10.0):
        self.address, self.timeout = (host, port), timeout
        self._lock = threading.Lock()
        self._sock = self._rfile = None

    def command(self, *args):
        with self._lock:
            try:
                if self._sock is None:
                    self._sock = socket.create_connection(self.address, self.timeout)
                    self._rfile = self._sock.makefile("rb")
                self._sock.sendall(encode_command(*args))
                return read_reply(self._rfile)
            except (OSError, ConnectionError):
                self.close_locked()
                raise

    def close(self) -> None:
        with self._lock:
            self.close_locked()

    def close_locked(self) -> None:
        if self._sock is not None:
            self._rfile.close()
            self._sock.close()
        self._sock = self._rfile = None
