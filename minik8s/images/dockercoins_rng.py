"""The program behind the `dockercoins/rng:v0.1` image: DockerCoins' random number
generator.

DockerCoins is the toy application of container.training: a `worker` mines "coins" by
asking `rng` for random bytes and `hasher` for their SHA-256, storing the results in
`redis`, while `webui` graphs the mining speed. It is a course favourite because it is
slow on purpose: scaling `worker` helps until `rng` and `hasher` become the bottleneck,
and then scaling those helps too.

rng is a Flask app in the original; this is the same web service:
- `GET /` answers "RNG running on <hostname>";
- `GET /<n>` sleeps 0.1 s (the simulated cost of randomness), then answers `n` bytes
  from the OS's random source as `application/octet-stream`.

It listens on port 80 as the real image does, or on `--port N` / env `PORT` / the first
containerPort (see peers.py). Left out: Flask's debug mode. Unlike Flask, `n` is capped
at 1 MiB, so one stray `curl rng/99999999999` does not take the container down.
"""
from __future__ import annotations

import argparse
import os
import sys

from minik8s.api.clock import RealClock
from minik8s.images import peers

CLOCK = RealClock()
DEFAULT_PORT = 80
DELAY = 0.1                      # seconds per request, as in the original
MAX_BYTES = 1024 * 1024


class Handler(peers.Handler):
    server_name = "Werkzeug/3.0 Python"

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/":
            return self.answer(200, f"RNG running on {peers.hostname()}\n",
                               "text/html; charset=utf-8")
        count = path[1:]
        if not (count.isascii() and count.isdigit()):   # Flask's <int:...> converter
            return self.answer(404, NOT_FOUND, "text/html; charset=utf-8")
        if int(count) > MAX_BYTES:
            return self.answer(400, f"at most {MAX_BYTES} bytes per request\n")
        CLOCK.sleep(DELAY)
        self.answer(200, os.urandom(int(count)), "application/octet-stream")


NOT_FOUND = ("<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n"
             "<h1>Not Found</h1>\n<p>The requested URL was not found on the server.</p>\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="rng", description="DockerCoins' rng service")
    parser.add_argument("--port", type=int, default=0)
    opts = parser.parse_args(argv)
    return peers.serve(Handler, DEFAULT_PORT, "RNG", opts.port)


if __name__ == "__main__":
    sys.exit(main())
