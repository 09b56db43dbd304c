"""The program behind the `dockercoins/hasher:v0.1` image: DockerCoins' hashing service.

In container.training's DockerCoins (see dockercoins_rng.py for the whole application)
hasher is a Ruby Sinatra app. This is the same web service:
- `POST /` sleeps 0.1 s (the simulated cost of hashing), then answers the hex SHA-256
  of the request body, as `text/plain`;
- `GET /` answers "HASHER running on <hostname>".

It listens on port 80 as the real image does, or on `--port N` / env `PORT` / the first
containerPort (see peers.py), and exits 0 on SIGTERM.
"""
from __future__ import annotations

import argparse
import hashlib
import sys

from minik8s.api.clock import RealClock
from minik8s.images import peers

CLOCK = RealClock()
DEFAULT_PORT = 80
DELAY = 0.1                      # seconds per hash, as in the original


class Handler(peers.Handler):
    server_name = "WEBrick/1.8 (Ruby)"

    def do_GET(self):
        if self.path.split("?", 1)[0] != "/":
            return self.answer(404, "<h1>Not Found</h1>", "text/html;charset=utf-8")
        self.answer(200, f"HASHER running on {peers.hostname()}\n", "text/html;charset=utf-8")

    def do_POST(self):
        body = self.read_body()            # read it even for a 404: keep-alive stays in sync
        if self.path.split("?", 1)[0] != "/":
            return self.answer(404, "<h1>Not Found</h1>", "text/html;charset=utf-8")
        CLOCK.sleep(DELAY)
        self.answer(200, hashlib.sha256(body).hexdigest(), "text/plain;charset=utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="hasher", description="DockerCoins' hasher")
    parser.add_argument("--port", type=int, default=0)
    opts = parser.parse_args(argv)
    return peers.serve(Handler, DEFAULT_PORT, "HASHER", opts.port)


if __name__ == "__main__":
    sys.exit(main())
