"""Scripts of simulated runs: what `SimCluster` records so `replay.py` can re-run it.

A run is a function of the SimCluster's constructor arguments, the harness operations
applied to it and PYTHONHASHSEED; `Script` records the operations as they happen
(consecutive steps merged into one ["step", n]) and saves all three with the trace's
digest. `command(path)` is the one line a failing test prints. See replay.py.
"""
from __future__ import annotations

import contextlib
import json
import os

FORMAT = 1


class Script:
    """The operations applied to a SimCluster, recorded as they happen."""

    def __init__(self, config: dict):
        self.config = config          # the constructor's arguments (JSON-able)
        self.ops: list = []
        self._depth = 1               # > 0: not recording (the constructor runs first)

    def start(self) -> None:
        self._depth = 0

    @contextlib.contextmanager
    def operation(self, *op):
        """Record `op` unless we are inside another recorded operation, and keep
        whatever it does inside from being recorded twice."""
        if self._depth == 0:
            self.add(*op)
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1

    def add(self, *op) -> None:
        if self._depth:
            return
        if op[0] == "step" and self.ops and self.ops[-1][0] == "step":
            self.ops[-1][1] += 1      # consecutive steps are one ["step", n]
            return
        self.ops.append(["step", 1] if op[0] == "step" else list(op))

    def to_json(self, digest: str = "") -> dict:
        return {"format": FORMAT, "config": self.config, "ops": self.ops,
                "digest": digest, "pythonhashseed": os.environ.get("PYTHONHASHSEED", "")}

    def save(self, path: str, digest: str = "") -> str:
        with open(path, "w") as f:
            json.dump(self.to_json(digest), f, indent=0, sort_keys=True)
            f.write("\n")
        return path


def class_name(cls) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def command(path: str) -> str:
    """The one command that replays a saved run and writes its timelines."""
    base = os.path.splitext(path)[0]
    return (f"PYTHONHASHSEED=0 python -m minik8s.sim.replay {path} "
            f"--text {base}.txt --html {base}.html")
