"""Replay: run a recorded simulation again, exactly, and write its timeline.

A simulated run is a function of three things: the SimCluster's constructor arguments
(seed included), the sequence of harness operations (steps, clock advances, the test's
own API writes, faults switched on and off, node operations) and PYTHONHASHSEED. Every
SimCluster records the second in `sim.script` as it goes; `script.save(path)` writes
all three with the trace's digest, and

    PYTHONHASHSEED=0 python -m minik8s.sim.replay RUN.json --text - --html run.html

builds a fresh SimCluster from the file, re-applies the operations in order, checks
that the new trace has the recorded digest (so "it replays" is a checked claim, not a
hope), and writes the timeline. Nothing of hypothesis is needed: a failing example
saves its script, prints `sim.replay_command(path)`, and the student runs that.

Operations are plain JSON: ["step", n], ["advance", seconds], ["client", method,
args, kwargs], ["sim", method, args, kwargs], ["fault", name, "on"|"off", kwargs].
Errors the test's own API calls raised (AlreadyExists, NotFound...) are raised again
on replay and ignored, as the test ignored them; any other exception (a component's
bug, maybe the very one being replayed) is reported with the operation that raised
it, and the replay carries on, so the timeline still gets written.

Classes given to the SimCluster (controller_overrides) are recorded as
"module:QualName"; `--path DIR` (default: the current directory and ./tests) makes
modules such as planted bugs importable.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from typing import Optional

from minik8s.api.errors import APIError

# The recording side lives in script.py, so that importing minik8s.sim does not import
# this module (`python -m minik8s.sim.replay` would then warn and run it twice).
from .script import FORMAT, Script, class_name, command

__all__ = ["FORMAT", "Script", "class_name", "command", "load_class", "apply", "replay",
           "ReplayDiverged", "main"]

def load_class(name: str, paths: Optional[list] = None):
    module, _, qualname = name.partition(":")
    for p in reversed(paths if paths is not None else [os.getcwd(), os.path.join(os.getcwd(), "tests")]):
        if p not in sys.path:
            sys.path.insert(0, p)
    obj = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def apply(sim, op: list) -> None:
    """Apply one recorded operation to `sim` (API errors are the test's business)."""
    kind = op[0]
    try:
        if kind == "step":
            for _ in range(op[1]):
                sim.step()
        elif kind == "advance":
            sim.advance(op[1])
        elif kind == "client":
            getattr(sim.client, op[1])(*op[2], **op[3])
        elif kind == "sim":
            getattr(sim, op[1])(*op[2], **op[3])
        elif kind == "fault":
            fault = getattr(sim.faults, op[1])
            getattr(fault, op[2])(**op[3])
        else:
            raise ValueError(f"unknown operation {op!r}")
    except APIError:
        pass


def replay(data: dict, *, paths: Optional[list] = None, check: bool = True):
    """A fresh SimCluster with the recorded config and every operation applied.
    Raises ReplayDiverged when `check` and the trace digest differs."""
    from .cluster import SimCluster
    config = dict(data["config"])
    overrides = config.get("controller_overrides") or {}
    config["controller_overrides"] = {k: load_class(v, paths) for k, v in overrides.items()}
    sim = SimCluster(**config)
    sim.replay_errors = []
    for i, op in enumerate(data["ops"]):
        try:
            apply(sim, op)
        except Exception as e:     # a bug the run hit (maybe the one being replayed):
            sim.replay_errors.append((i, op, f"{type(e).__name__}: {e}"))   # carry on
    if check and data.get("digest") and sim.trace.digest() != data["digest"]:
        raise ReplayDiverged(
            f"the replay's trace differs from the recorded one (digest "
            f"{sim.trace.digest()[:12]} != {data['digest'][:12]}); recorded with "
            f"PYTHONHASHSEED={data.get('pythonhashseed') or 'unset'}, now "
            f"{os.environ.get('PYTHONHASHSEED') or 'unset'}")
    return sim


class ReplayDiverged(AssertionError):
    pass


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m minik8s.sim.replay",
                                description="Replay a recorded minik8s simulation.")
    p.add_argument("script", help="the JSON file a run saved (sim.save_script)")
    p.add_argument("--text", help="write the text timeline here ('-': stdout)")
    p.add_argument("--html", help="write the HTML timeline here")
    p.add_argument("--log", help="write the full event log (one line per event) here")
    p.add_argument("--deliveries", action="store_true",
                   help="include watch event deliveries in the timelines")
    p.add_argument("--last", type=int, help="only the last N events in the timelines")
    p.add_argument("--no-check", action="store_true", help="do not compare digests")
    p.add_argument("--path", action="append", help="directories to import classes from")
    args = p.parse_args(argv)
    with open(args.script) as f:
        data = json.load(f)
    try:
        sim = replay(data, paths=args.path, check=not args.no_check)
    except ReplayDiverged as e:
        print(f"replay: {e}", file=sys.stderr)
        return 1
    try:
        _write(args.text, sim.trace.text(last=args.last, deliveries=args.deliveries))
        _write(args.html, sim.trace.html(deliveries=args.deliveries, last=args.last,
                                         title=f"minik8s simulation {args.script}"))
        _write(args.log, "\n".join(sim.trace.lines()))
        for i, op, error in sim.replay_errors:
            print(f"operation {i} {json.dumps(op)[:120]} raised {error}", file=sys.stderr)
        print(f"replayed {len(data['ops'])} operations, {sim.steps} steps, "
              f"{len(sim.trace)} events; digest {sim.trace.digest()[:12]}"
              + (" (matches)" if data.get("digest") and not args.no_check else ""),
              file=sys.stderr)
    finally:
        sim.close()
    return 0


def _write(path: Optional[str], text: str) -> None:
    if not path:
        return
    if path == "-":
        print(text)
        return
    with open(path, "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    sys.exit(main())
