"""The program behind the `dockercoins/worker:v0.1` image: DockerCoins' miner.

In container.training's DockerCoins (see dockercoins_rng.py for the whole application)
the worker is the only active part. It loops forever:

1. sleep 0.1 s, get 32 random bytes from `http://rng/32`;
2. POST them to `http://hasher/` and read back their hex SHA-256;
3. if the hash starts with "0", that is a coin: `HSET wallet <hash> <bytes>`;
4. about once a second, `INCRBY hashes <hashes computed since last time>` and log
   "N units of work done, updating hash counter".

So one worker does ~3 hashes/s (0.1 s of its own sleep + 0.1 s in rng + 0.1 s in
hasher) and the total speed scales with the number of workers until rng or hasher
saturate: the lesson of the DockerCoins chapter.

Peers are found by name as in Kubernetes (see peers.py): `RNG_URL` / `HASHER_URL` /
`REDIS_URL` if set, else the Services' `*_SERVICE_HOST`/`*_SERVICE_PORT` variables,
else DNS names `rng`, `hasher`, `redis`. Like the original, a peer that cannot be
reached makes the worker exit with an error (the container restarts, with
CrashLoopBackOff if it keeps failing). Env `DEBUG=y...` logs every unit of work.
"""
from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

from minik8s.api.clock import RealClock
from minik8s.images import peers
from minik8s.images.resp import Client, Error

CLOCK = RealClock()
DEBUG = os.environ.get("DEBUG", "").lower().startswith("y")
WORK_DELAY = 0.1                 # seconds slept per unit of work, as in the original
REPORT_INTERVAL = 1.0            # seconds between INCRBY hashes
# Straight to the peer, never through an http_proxy the environment may name: rng and
# hasher are in-cluster addresses a proxy cannot reach.
HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def log(level: str, message: str) -> None:
    # The original's logging.basicConfig format: LEVEL:logger:message.
    if level != "DEBUG" or DEBUG:
        print(f"{level}:__main__:{message}", flush=True)


def is_coin(hex_hash: str) -> bool:
    return hex_hash.startswith("0")


class Worker:
    def __init__(self, rng_url: str, hasher_url: str, redis: Client, clock=CLOCK):
        self.rng_url, self.hasher_url, self.redis, self.clock = rng_url, hasher_url, redis, clock

    def get_random_bytes(self) -> bytes:
        with HTTP.open(f"{self.rng_url}/32", timeout=30) as r:
            return r.read()

    def hash_bytes(self, data: bytes) -> str:
        request = urllib.request.Request(f"{self.hasher_url}/", data=data, method="POST",
                                         headers={"Content-Type": "application/octet-stream"})
        with HTTP.open(request, timeout=30) as r:
            return r.read().decode()

    def work_once(self) -> None:
        log("DEBUG", "Doing one unit of work")
        self.clock.sleep(WORK_DELAY)
        random_bytes = self.get_random_bytes()
        hex_hash = self.hash_bytes(random_bytes)
        if not is_coin(hex_hash):
            log("DEBUG", "No coin found")
            return
        log("INFO", f"Coin found: {hex_hash[:8]}...")
        if not self.redis.command("HSET", "wallet", hex_hash, random_bytes):
            log("INFO", "We already had that coin")

    def work_loop(self) -> None:
        # The counter goes to redis in batches, not per hash: one INCRBY a second keeps
        # redis traffic flat however many hashes a worker computes.
        deadline, loops_done = 0.0, 0
        while True:
            if self.clock.monotonic() > deadline:
                log("INFO", f"{loops_done} units of work done, updating hash counter")
                self.redis.command("INCRBY", "hashes", loops_done)
                loops_done = 0
                deadline = self.clock.monotonic() + REPORT_INTERVAL
            self.work_once()
            loops_done += 1


def main(argv=None) -> int:
    rng, hasher = peers.peer_url("rng", 80), peers.peer_url("hasher", 80)
    redis_host, redis_port = peers.peer_address("redis", 6379)
    peers.exit_on_sigterm()
    log("INFO", f"mining with rng at {rng}, hasher at {hasher}, "
                f"redis at {redis_host}:{redis_port}")
    try:
        Worker(rng, hasher, Client(redis_host, redis_port)).work_loop()
    except SystemExit:
        log("INFO", "received SIGTERM, shutting down")
        return 0
    except (OSError, urllib.error.URLError, Error) as e:
        # A crash, as in the original: Kubernetes restarts us and backs off.
        log("ERROR", f"giving up: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
