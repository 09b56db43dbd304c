"""End-to-end helpers: a minik8s cluster brought up on the session's Ray head, driven
by the real kubectl, waited on by condition (never by sleeping a fixed time)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from minik8s.cluster import bringup, rayhead
from waiting import wait_for


class E2ECluster:
    def __init__(self, root, ray_address: str, *, nodes: int = 3, runtime: str = "process",
                 **up_options):
        self.root = str(root)
        self.data_dir = os.path.join(self.root, "data")
        self.kubeconfig = os.path.join(self.root, "kubeconfig")
        self.address = ray_address
        self.nodes, self.runtime, self.up_options = nodes, runtime, up_options
        self.cache = os.path.join(self.root, "kubecache")
        self.kubectl_exe = shutil.which("kubectl")
        rc = self.up()
        assert rc == 0, f"minik8s up failed with {rc}"

    def up(self, **extra) -> int:
        """`minik8s up` on this data directory (a free port the first time, then the
        recorded one, as a user's second `up` does)."""
        first = not os.path.exists(os.path.join(self.data_dir, "cluster.json"))
        return bringup.up(self.data_dir, port=0 if first else None, nodes=self.nodes,
                          runtime=self.runtime, kubeconfig=self.kubeconfig,
                          address=self.address, **{**self.up_options, **extra})

    def down(self) -> int:
        return bringup.down(self.data_dir)

    @property
    def state(self) -> dict:
        with open(os.path.join(self.data_dir, "state.json")) as f:
            return json.load(f)

    @property
    def url(self) -> str:
        return self.state["url"]

    @property
    def namespace(self) -> str:
        return rayhead.namespace_for(os.path.abspath(self.data_dir))

    def client(self):
        from minik8s.client.http import HTTPClient
        return HTTPClient(self.url, timeout=10)

    def kubectl(self, *args, input=None, timeout=30, check=True) -> str:
        if self.kubectl_exe is None:
            pytest.skip("kubectl is not installed")
        env = dict(os.environ, KUBECONFIG=self.kubeconfig, HOME=self.root)
        r = subprocess.run([self.kubectl_exe, f"--cache-dir={self.cache}", "--context",
                            "minik8s", *args], input=input, text=True, capture_output=True,
                           env=env, timeout=timeout)
        if check:
            assert r.returncode == 0, f"kubectl {' '.join(args)}: rc={r.returncode}\n{r.stderr}"
            return r.stdout
        return r

    def pod(self, name: str, namespace: str = "default") -> dict:
        return self.client().get("pods", name, namespace)

    def wait_phase(self, name: str, phases=("Running",), namespace="default",
                   timeout: float = 20.0) -> dict:
        return wait_for(lambda: (p := self.pod(name, namespace)) and
                        (p.get("status") or {}).get("phase") in phases and p,
                        timeout, f"pod {name} to be {'/'.join(phases)}")

    def actor_info(self, actor_name: str) -> dict:
        from minik8s.cluster import raynodes
        return raynodes.call(raynodes.get_actor(actor_name, self.namespace), "info")

    def actor_names(self) -> list:
        from minik8s.cluster import raynodes
        return raynodes.named_actors(self.namespace)
