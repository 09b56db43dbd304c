"""The program behind the `dockercoins/webui:v0.1` image: DockerCoins' web UI.

In container.training's DockerCoins (see dockercoins_rng.py for the whole application)
webui is a Node.js Express app that reads redis and graphs the mining speed. This is
the same web service:
- `GET /` redirects (302) to `/index.html`;
- `GET /index.html` is the page: it polls `json` every second and plots hashes/s;
- `GET /json` answers `{"coins": HLEN wallet, "hashes": GET hashes, "now": <epoch
  seconds>}`. As in the original, `hashes` is redis' string (`"42"`, or null before the
  first worker reports): the page turns it into a number.

The page is our own: plain HTML, an inline SVG chart and a few lines of inline
JavaScript — no third-party scripts, no external URLs (the original loads jQuery, d3
and Rickshaw). Redis is found as `REDIS_URL`, else the `redis` Service's variables,
else the DNS name `redis` (see peers.py); if it cannot be reached, `/json` answers 500
and the page says so, and the next poll tries again. Listens on port 80 as the real
image, or `--port N` / env `PORT` / the first containerPort.
"""
from __future__ import annotations

import argparse
import json
import sys

from minik8s.api.clock import RealClock
from minik8s.images import peers
from minik8s.images.resp import Client, Error

CLOCK = RealClock()
DEFAULT_PORT = 80
REDIS: Client = None             # set by main(): one connection shared by all requests


def wallet_status(redis: Client, now: float) -> dict:
    """What /json reports, read from redis."""
    hashes = redis.command("GET", "hashes")
    return {"coins": redis.command("HLEN", "wallet"),
            "hashes": hashes.decode() if hashes is not None else None,
            "now": now}


class Handler(peers.Handler):
    server_name = "Express"

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/":
            return self.answer(302, "Found. Redirecting to /index.html",
                               headers={"Location": "/index.html"})
        if path == "/index.html":
            return self.answer(200, PAGE, "text/html; charset=UTF-8")
        if path == "/json":
            try:
                body, code = wallet_status(REDIS, CLOCK.now()), 200
            except (OSError, Error) as e:
                body, code = {"error": f"redis: {e}"}, 500
            return self.answer(code, json.dumps(body), "application/json; charset=utf-8")
        self.answer(404, f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">"
                         f"\n<title>Error</title>\n</head>\n<body>\n<pre>Cannot GET {path}</pre>"
                         f"\n</body>\n</html>\n", "text/html; charset=utf-8")


PAGE = """<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>DockerCoin Miner WebUI</title>
<style>
body { font-family: sans-serif; margin: 2em; }
#graph { background-color: #eee; width: 800px; height: 400px; }
#speed { font-size: 2em; }
</style>
</head>
<body>
<h1>DockerCoin Miner WebUI</h1>
<p><span id="speed">-</span> hashes/second &middot; <span id="coins">-</span> coins mined
&middot; <span id="status">connecting...</span></p>
<svg id="graph" viewBox="0 0 800 400" preserveAspectRatio="none">
  <polyline id="line" fill="steelblue" fill-opacity="0.5" stroke="steelblue"
            stroke-width="2" points=""></polyline>
  <text id="max" x="5" y="15" font-size="13" opacity="0.6"></text>
</svg>
<script>
// Keep the last 250 samples; the speed is the slope between consecutive samples.
var series = [];
function refresh() {
  fetch("json").then(function (r) { return r.json(); }).then(function (data) {
    if (data.error) { throw new Error(data.error); }
    data.hashes = Number(data.hashes || 0);
    series.push(data);
    while (series.length > 250) { series.shift(); }
    var speeds = [];
    for (var i = 1; i < series.length; i++) {
      var dt = series[i].now - series[i - 1].now;
      speeds.push(dt > 0 ? (series[i].hashes - series[i - 1].hashes) / dt : 0);
    }
    var top = Math.max(1, Math.max.apply(null, speeds.concat([0])));
    var points = ["0,400"];
    speeds.forEach(function (s, i) {
      points.push((i * 800 / 249).toFixed(1) + "," + (400 - 380 * s / top).toFixed(1));
    });
    points.push(((speeds.length - 1) * 800 / 249).toFixed(1) + ",400");
    document.getElementById("line").setAttribute("points", points.join(" "));
    document.getElementById("max").textContent = top.toFixed(1) + " hashes/s";
    document.getElementById("speed").textContent =
      speeds.length ? speeds[speeds.length - 1].toFixed(1) : "-";
    document.getElementById("coins").textContent = data.coins;
    document.getElementById("status").textContent = "updated " +
      new Date(data.now * 1000).toLocaleTimeString();
  }).catch(function (e) {
    document.getElementById("status").textContent = "error: " + e.message;
  });
}
refresh();
setInterval(refresh, 1000);
</script>
</body>
</html>
"""


def main(argv=None) -> int:
    global REDIS
    parser = argparse.ArgumentParser(prog="webui", description="DockerCoins' web UI")
    parser.add_argument("--port", type=int, default=0)
    opts = parser.parse_args(argv)
    REDIS = Client(*peers.peer_address("redis", 6379), timeout=5.0)
    return peers.serve(Handler, DEFAULT_PORT, "WEBUI", opts.port)


if __name__ == "__main__":
    sys.exit(main())
