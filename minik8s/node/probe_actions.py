"""The three probe actions, run against real processes (Kubernetes' pkg/probe).

The kubelet's prober decides *when* to probe (probes.py: periods, thresholds); these
functions are one *try*, as Kubernetes' `pkg/probe/{http,tcp,exec}` are: each returns
a ProbeResult within the probe's timeout, with the message the kubelet puts into its
`Unhealthy` event ("Liveness probe failed: <message>"), worded as Kubernetes words it.

- httpGet: success is a status in [200, 400). HTTPS certificates are not verified (the
  kubelet does not verify them either). Redirects are not followed (a 3xx is success).
- tcpSocket: success is an accepted connection, closed at once.
- exec: success is exit code 0; the output is the message. The command runs in the
  container's environment and working directory, in its own process group, killed
  whole when the timeout expires.
"""
from __future__ import annotations

import http.client
import os
import signal
import socket
import ssl
import subprocess
from typing import Callable

from .runtime import ProbeResult

USER_AGENT = "kube-probe/1.32"


def http_get(host: str, port: int, path: str, scheme: str, headers: dict,
             timeout: float) -> ProbeResult:
    url = f"{scheme.lower()}://{host}:{port}{path}"
    if scheme.upper() == "HTTPS":
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"User-Agent": USER_AGENT, "Accept": "*/*",
                                           **headers})
        response = conn.getresponse()
        response.read(10 * 1024)
    except (socket.timeout, TimeoutError):
        return ProbeResult(False, f'Get "{url}": context deadline exceeded '
                                  "(Client.Timeout exceeded while awaiting headers)")
    except ConnectionRefusedError:
        return ProbeResult(False, f'Get "{url}": dial tcp {host}:{port}: connect: '
                                  "connection refused")
    except (OSError, http.client.HTTPException) as e:
        return ProbeResult(False, f'Get "{url}": {e}')
    finally:
        conn.close()
    if 200 <= response.status < 400:
        return ProbeResult(True)
    return ProbeResult(False, f"HTTP probe failed with statuscode: {response.status}")


def tcp_connect(host: str, port: int, timeout: float) -> ProbeResult:
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except (socket.timeout, TimeoutError):
        return ProbeResult(False, f"dial tcp {host}:{port}: i/o timeout")
    except ConnectionRefusedError:
        return ProbeResult(False, f"dial tcp {host}:{port}: connect: connection refused")
    except OSError as e:
        return ProbeResult(False, f"dial tcp {host}:{port}: {e}")
    return ProbeResult(True)


def run_command(command: list, argv: list, env: dict, cwd: str, timeout: float,
                popen: Callable) -> ProbeResult:
    """Run `argv` (the probe's `command` with its paths already mapped to the host)
    through `popen` (which must start it in its own session, see procgroup.Spawner)."""
    try:
        proc = popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE,
                     stderr=subprocess.STDOUT)
    except (OSError, RuntimeError) as e:
        return ProbeResult(False, f'exec: "{command[0]}": {e}')
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)     # the command and whatever it started
        proc.communicate()
        return ProbeResult(False, f'command "{" ".join(command)}" timed out')
    return ProbeResult(proc.returncode == 0, out.decode(errors="replace"))
