"""Container log files in the CRI format, written by the runtime, read for the kubelet.

In Kubernetes the runtime (containerd) copies a container's stdout and stderr into
`/var/log/pods/<ns>_<pod>_<uid>/<container>/<attempt>.log`, one entry per line:

    2026-01-01T00:00:00.123456789Z stdout F hello world
    <RFC3339Nano time>             stream tag content

The tag is `F` for a full line and `P` for a partial one (a line longer than the
runtime's buffer, or output without a final newline): the reader joins P entries to
the F that completes them. The kubelet reads these files to answer `kubectl logs`,
applying `--tail`, `--since`/`--since-time`, `--timestamps` and `--limit-bytes`.

`CriLogWriter` is the writing side (fed with raw bytes from a pipe, it stamps each line
with the clock's wall time); `read_cri_log` is the reading side, with the kubelet's
order: take the last `tail` lines first, then drop those older than `since`, then cut
at `limit_bytes`. Simplification: the reader reads the whole file (logs here are small).
"""
from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Optional

from minik8s.api.clock import Clock

MAX_ENTRY = 16 * 1024          # longer lines are split into P entries, as containerd does
STREAMS = ("stdout", "stderr")


def rfc3339nano(t: float) -> str:
    """Go's time.RFC3339Nano in UTC: nanoseconds with trailing zeros trimmed."""
    seconds = math.floor(t)
    nanos = int(round((t - seconds) * 1e9))
    if nanos >= 1_000_000_000:
        seconds, nanos = seconds + 1, 0
    base = datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{nanos:09d}".rstrip("0")
    return f"{base}.{fraction}Z" if fraction else f"{base}Z"


def parse_rfc3339nano(text: str) -> float:
    base, _, fraction = text.rstrip("Z").partition(".")
    whole = datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    return whole.timestamp() + (float("0." + fraction) if fraction else 0.0)


class CriLogWriter:
    """Turns the raw bytes of a container's stdout and stderr into CRI log entries.

    Not thread-safe: one writer is fed by one thread (the runtime's log pump)."""

    def __init__(self, path: str, clock: Clock):
        self.clock = clock
        self.file = open(path, "ab", buffering=0)
        self.pending = {s: bytearray() for s in STREAMS}   # an unfinished line per stream
        self.open = set(STREAMS)

    def feed(self, stream: str, data: bytes) -> None:
        buf = self.pending[stream]
        buf += data
        while True:
            end = buf.find(b"\n", 0, MAX_ENTRY + 1)
            if end >= 0:
                self._entry(stream, "F", bytes(buf[:end]))
                del buf[:end + 1]
            elif len(buf) > MAX_ENTRY:    # a very long line: write it in P pieces
                self._entry(stream, "P", bytes(buf[:MAX_ENTRY]))
                del buf[:MAX_ENTRY]
            else:
                return

    def end(self, stream: str) -> None:
        """The stream is closed: output without a final newline becomes a P entry, so
        a reader gives back exactly the bytes the container wrote. The file closes
        with the last stream."""
        buf = self.pending[stream]
        if buf:
            self._entry(stream, "P", bytes(buf))
            buf.clear()
        self.open.discard(stream)
        if not self.open and not self.file.closed:
            self.file.close()

    def close(self) -> None:
        for stream in STREAMS:
            self.end(stream)

    def _entry(self, stream: str, tag: str, content: bytes) -> None:
        head = f"{rfc3339nano(self.clock.now())} {stream} {tag} ".encode()
        self.file.write(head + content + b"\n")


def read_entries(path: str) -> list:
    """[(time string, stream, tag, content)] of a CRI log file; a torn last line (a
    write in progress) is skipped."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    entries = []
    for raw in data.split(b"\n")[:-1]:
        parts = raw.split(b" ", 3)
        if len(parts) == 4 and parts[2] in (b"F", b"P"):
            entries.append((parts[0].decode(), parts[1].decode(), parts[2].decode(), parts[3]))
    return entries


def logical_lines(entries: list) -> list:
    """[(time string, bytes)] with P entries joined to their stream's next F entry."""
    lines, open_parts = [], {}
    for ts, stream, tag, content in entries:
        first_ts, parts = open_parts.pop(stream, (ts, []))
        parts.append(content)
        if tag == "F":
            lines.append((first_ts, b"".join(parts) + b"\n"))
        else:
            open_parts[stream] = (first_ts, parts)
    # Output that never got its newline (the container exited mid-line) comes last.
    lines.extend((ts, b"".join(parts)) for ts, parts in open_parts.values())
    return lines


def read_cri_log(path: str, tail_lines: Optional[int] = None, since: Optional[float] = None,
                 timestamps: bool = False, limit_bytes: Optional[int] = None) -> bytes:
    lines = logical_lines(read_entries(path))
    if tail_lines is not None and tail_lines >= 0:        # kubectl --tail=-1: everything
        lines = lines[-tail_lines:] if tail_lines else []
    if since is not None:
        lines = [(ts, text) for ts, text in lines if parse_rfc3339nano(ts) >= since]
    out = b"".join((ts.encode() + b" " + text) if timestamps else text for ts, text in lines)
    return out[:limit_bytes] if limit_bytes is not None and limit_bytes >= 0 else out
