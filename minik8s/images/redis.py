"""The program behind the `redis` image: a small Redis server.

Redis is a key-value server; clients send it commands (`SET hashes 0`, `INCRBY hashes
3`, `HSET wallet <hash> <bytes>`) over TCP in RESP (see resp.py, which also holds the
client the DockerCoins worker and webui use).

This server keeps what DockerCoins and a course need: strings and hashes with
binary-safe keys and values, key expiry, one database, and Redis' own replies and error
messages for the commands below (`-ERR unknown command ...` for the rest). It keeps
everything in memory (no RDB/AOF): a restarted redis pod starts empty, exactly like the
real image without a volume. Commands run one at a time under one lock, which gives the
guarantee real Redis gets from its single thread: every command is atomic.

It listens on the pod's address, port `--port N` (as `redis-server --port N`), else env
`PORT`, else the first containerPort, else 6379 (see peers.py), and exits 0 on SIGTERM.
"""
from __future__ import annotations

import argparse
import fnmatch
import socketserver
import sys
import threading
from typing import Optional

from minik8s.api.clock import RealClock
from minik8s.images import peers
from minik8s.images.resp import Error, ProtocolError, Simple, encode, read_command

CLOCK = RealClock()
DEFAULT_PORT = 6379
OK = Simple("OK")
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOT_INTEGER = "ERR value is not an integer or out of range"


# --- the keyspace and its commands -----------------------------------------------------

class Keyspace:
    """Database 0: key -> bytes (a string) or dict (a hash), with expiry deadlines.
    Expired keys are removed when touched, as Redis' lazy expiry does."""

    def __init__(self, clock=CLOCK):
        self.clock = clock
        self.data: dict = {}
        self.expires: dict = {}                          # key -> monotonic deadline
        self.lock = threading.Lock()

    def get(self, key: bytes, kind=None):
        deadline = self.expires.get(key)
        if deadline is not None and self.clock.monotonic() >= deadline:
            self.delete(key)
        value = self.data.get(key)
        if kind is not None and value is not None and not isinstance(value, kind):
            raise Error(WRONGTYPE)
        return value

    def delete(self, key: bytes) -> bool:
        self.expires.pop(key, None)
        return self.data.pop(key, None) is not None

    def live_keys(self) -> list:
        return [k for k in list(self.data) if self.get(k) is not None]


def integer(arg: bytes) -> int:
    """Parse an argument as Redis does (string2ll): a signed 64-bit decimal, no spaces,
    no '+', no leading zeros."""
    text = arg.decode("latin-1")
    digits = text[1:] if text.startswith("-") else text
    if not digits.isdigit() or not digits.isascii() or (digits[0] == "0" and text != "0"):
        raise Error(NOT_INTEGER)
    n = int(text)
    if not -2**63 <= n < 2**63:
        raise Error(NOT_INTEGER)
    return n


COMMANDS: dict = {}


def command(name: str, arity: int):
    """Register a command. Arity as in Redis' command table: counts the name itself;
    positive means exactly, negative means at least."""
    def register(fn):
        COMMANDS[name] = (arity, fn)
        return fn
    return register


@command("ping", -1)
def ping(ks, args):
    if len(args) > 1:
        raise Error("ERR wrong number of arguments for 'ping' command")
    return args[0] if args else Simple("PONG")


command("echo", 2)(lambda ks, args: args[0])
command("dbsize", 1)(lambda ks, args: len(ks.live_keys()))
command("command", -1)(lambda ks, args: [])          # redis-cli asks for docs; we have none


@command("select", 2)
def select(ks, args):
    if integer(args[0]) != 0:
        raise Error("ERR DB index is out of range")
    return OK


@command("get", 2)
def get(ks, args):
    return ks.get(args[0], bytes)


@command("set", -3)
def set_(ks, args):
    key, value, opts, ttl = args[0], args[1], [a.upper() for a in args[2:]], None
    i = 0
    while i < len(opts):
        if opts[i] in (b"EX", b"PX") and i + 1 < len(opts) and ttl is None:
            n = integer(args[2 + i + 1])
            if n <= 0:
                raise Error("ERR invalid expire time in 'set' command")
            ttl, i = n / (1 if opts[i] == b"EX" else 1000), i + 2
        elif opts[i] in (b"NX", b"XX") and not {b"NX", b"XX"} & set(opts[:i]):
            i += 1
        else:
            raise Error("ERR syntax error")
    exists = ks.get(key) is not None
    if (b"NX" in opts and exists) or (b"XX" in opts and not exists):
        return None
    ks.delete(key)
    ks.data[key] = value
    if ttl is not None:
        ks.expires[key] = ks.clock.monotonic() + ttl
    return OK


@command("mget", -2)
def mget(ks, args):
    return [v if isinstance(v := ks.get(k), bytes) else None for k in args]


@command("mset", -3)
def mset(ks, args):
    if len(args) % 2:
        raise Error("ERR wrong number of arguments for 'mset' command")
    for key, value in zip(args[::2], args[1::2]):
        ks.delete(key)
        ks.data[key] = value
    return OK


def incr_by(ks, key: bytes, by: int) -> int:
    old = ks.get(key, bytes)
    n = integer(old) if old is not None else 0
    if not -2**63 <= n + by < 2**63:
        raise Error("ERR increment or decrement would overflow")
    ks.data[key] = b"%d" % (n + by)                      # an existing TTL is kept
    return n + by


command("incr", 2)(lambda ks, args: incr_by(ks, args[0], 1))
command("decr", 2)(lambda ks, args: incr_by(ks, args[0], -1))
command("incrby", 3)(lambda ks, args: incr_by(ks, args[0], integer(args[1])))
command("decrby", 3)(lambda ks, args: incr_by(ks, args[0], -integer(args[1])))
command("del", -2)(lambda ks, args: sum(ks.get(k) is not None and ks.delete(k) for k in args))
command("exists", -2)(lambda ks, args: sum(ks.get(k) is not None for k in args))


@command("keys", 2)
def keys(ks, args):
    pattern = args[0].decode("latin-1")
    return [k for k in ks.live_keys() if fnmatch.fnmatchcase(k.decode("latin-1"), pattern)]


@command("type", 2)
def type_(ks, args):
    value = ks.get(args[0])
    return Simple("none" if value is None else "string" if isinstance(value, bytes)
                  else "hash")


@command("flushdb", -1)
def flushdb(ks, args):
    ks.data.clear()
    ks.expires.clear()
    return OK


COMMANDS["flushall"] = COMMANDS["flushdb"]


@command("expire", 3)
def expire(ks, args):
    seconds = integer(args[1])
    if ks.get(args[0]) is None:
        return 0
    if seconds <= 0:
        ks.delete(args[0])
    else:
        ks.expires[args[0]] = ks.clock.monotonic() + seconds
    return 1


@command("ttl", 2)
def ttl(ks, args):
    if ks.get(args[0]) is None:
        return -2
    deadline = ks.expires.get(args[0])
    return -1 if deadline is None else round(deadline - ks.clock.monotonic())


# Hashes: field -> value, both binary-safe. An emptied hash disappears, as in Redis.

@command("hset", -4)
def hset(ks, args):
    if len(args) % 2 == 0:
        raise Error("ERR wrong number of arguments for 'hset' command")
    h = ks.get(args[0], dict)
    if h is None:
        h = ks.data[args[0]] = {}
    added = 0
    for field, value in zip(args[1::2], args[2::2]):
        added += field not in h
        h[field] = value
    return added


@command("hmset", -4)
def hmset(ks, args):
    if len(args) % 2 == 0:
        raise Error("ERR wrong number of arguments for 'hmset' command")
    hset(ks, args)
    return OK


command("hget", 3)(lambda ks, args: (ks.get(args[0], dict) or {}).get(args[1]))
command("hmget", -3)(lambda ks, args: [(ks.get(args[0], dict) or {}).get(f)
                                       for f in args[1:]])
command("hlen", 2)(lambda ks, args: len(ks.get(args[0], dict) or {}))
command("hexists", 3)(lambda ks, args: int(args[1] in (ks.get(args[0], dict) or {})))
command("hkeys", 2)(lambda ks, args: list(ks.get(args[0], dict) or {}))
command("hvals", 2)(lambda ks, args: list((ks.get(args[0], dict) or {}).values()))
command("hgetall", 2)(lambda ks, args: [x for kv in (ks.get(args[0], dict) or {}).items()
                                        for x in kv])


@command("hdel", -3)
def hdel(ks, args):
    h = ks.get(args[0], dict) or {}
    removed = sum(h.pop(f, None) is not None for f in args[1:])
    if not h:
        ks.delete(args[0])
    return removed


@command("hincrby", 4)
def hincrby(ks, args):
    h = ks.get(args[0], dict)
    old = (h or {}).get(args[1])
    n = 0
    if old is not None:
        try:
            n = integer(old)
        except Error:
            raise Error("ERR hash value is not an integer") from None
    by = integer(args[2])
    if not -2**63 <= n + by < 2**63:
        raise Error("ERR increment or decrement would overflow")
    if h is None:
        h = ks.data[args[0]] = {}
    h[args[1]] = b"%d" % (n + by)
    return n + by


@command("client", -2)
def client(ks, args):
    sub = args[0].lower()
    if sub in (b"setname", b"setinfo"):
        return OK
    if sub == b"getname":
        return None
    if sub == b"id":
        return threading.get_ident() % 2**31
    raise Error(f"ERR unknown subcommand '{args[0].decode('latin-1')}'. Try CLIENT HELP.")


@command("info", -1)
def info(ks, args):
    return (f"# Server\r\nredis_version:7.2.0\r\nredis_mode:standalone\r\n"
            f"executable:minik8s.images.redis\r\n\r\n# Keyspace\r\n"
            f"db0:keys={len(ks.live_keys())},expires={len(ks.expires)}\r\n").encode()


def execute(ks: Keyspace, argv: list):
    """Run one command; the reply (an Error for a failed command, never raised)."""
    name = argv[0].decode("latin-1")
    entry = COMMANDS.get(name.lower())
    if entry is None:
        shown = "".join(f"'{a.decode('latin-1')}' " for a in argv[1:])[:128]
        return Error(f"ERR unknown command '{name[:128]}', with args beginning with: {shown}")
    arity, fn = entry
    if (arity > 0 and len(argv) != arity) or (arity < 0 and len(argv) < -arity):
        return Error(f"ERR wrong number of arguments for '{name.lower()}' command")
    try:
        with ks.lock:
            return fn(ks, argv[1:])
    except Error as e:
        return e


# --- the server ------------------------------------------------------------------------

class Connection(socketserver.StreamRequestHandler):
    """One client connection: read a command, write its reply, until QUIT or EOF."""
    disable_nagle_algorithm = True

    def handle(self):
        while True:
            try:
                argv = read_command(self.rfile)
            except ProtocolError as e:
                self.wfile.write(encode(e))              # ... and hang up, as Redis does
                return
            except OSError:
                return
            if argv is None:
                return
            if not argv:
                continue
            if argv[0].lower() == b"quit":
                self.wfile.write(encode(OK))
                return
            self.wfile.write(encode(execute(self.server.keyspace, argv)))


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple, keyspace: Optional[Keyspace] = None):
        super().__init__(address, Connection)
        self.keyspace = keyspace or Keyspace()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="redis-server", description="a small Redis")
    parser.add_argument("--port", type=int, default=0)
    opts, _ = parser.parse_known_args(argv)     # other redis-server flags are ignored
    host, port = peers.listen_address(DEFAULT_PORT, opts.port)
    try:
        server = Server((host, port))
    except OSError as e:
        print(f"# Could not create server TCP listening socket {host}:{port}: {e}",
              file=sys.stderr, flush=True)
        return 1
    peers.exit_on_sigterm()
    print(f"* Running mode=standalone, port={port}.\n"
          f"* Ready to accept connections tcp on {host}:{port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.5)
    except SystemExit:
        print("# Received SIGTERM scheduling shutdown...", flush=True)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
