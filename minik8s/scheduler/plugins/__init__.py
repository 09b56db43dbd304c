"""The plugin registry: kube-scheduler's in-tree plugins by their Kubernetes names.

In Kubernetes, `pkg/scheduler/framework/plugins/registry.go` maps each plugin name to
a factory, and `apis/config/v1/default_plugins.go` lists the default profile: which
plugins run and the weight of each scoring plugin. This module is both: PLUGINS maps
a name to `factory(args: dict) -> plugin` (args are the plugin's `pluginConfig` args,
e.g. NodeResourcesFit's `{"scoringStrategy": {...}}`), DEFAULT_PROFILE lists
`(name, weight, args)` in kube-scheduler's order.

Factories import their module lazily, so a broken or half-written plugin module (a
lab in progress) breaks only the profiles that use it, not every import of the
scheduler.
"""
from __future__ import annotations

import importlib
from typing import Callable


def _lazy(module: str, cls: str) -> Callable[[dict], object]:
    """A factory that imports `minik8s.scheduler.plugins.<module>` on first use."""
    def factory(args: dict | None = None):
        mod = importlib.import_module(f"{__name__}.{module}")
        return getattr(mod, cls)(dict(args or {}))
    factory.__qualname__ = f"{cls}.factory"
    return factory


PLUGINS: dict[str, Callable[[dict], object]] = {
    "NodeUnschedulable": _lazy("basic", "NodeUnschedulable"),
    "NodeName": _lazy("basic", "NodeName"),
    "TaintToleration": _lazy("basic", "TaintToleration"),
    "NodeAffinity": _lazy("nodeaffinity", "NodeAffinity"),
    "NodePorts": _lazy("basic", "NodePorts"),
    "NodeResourcesFit": _lazy("noderesources", "NodeResourcesFit"),
    "NodeResourcesBalancedAllocation": _lazy("noderesources", "BalancedAllocation"),
    "ImageLocality": _lazy("basic", "ImageLocality"),
}

# kube-scheduler's default profile (v1.32), minus the plugins minik8s has no use for
# (SchedulingGates, PrioritySort live in the queue; volume plugins; DefaultPreemption;
# DefaultBinder is the scheduler's own bind step). Weight 0 = a plugin that does not
# score (Kubernetes leaves its weight unset). Filters run in this order and a node's
# first failing filter is the reason reported for it, so the order is Kubernetes'.
DEFAULT_PROFILE: list[tuple[str, int, dict]] = [
    ("NodeUnschedulable", 0, {}),
    ("NodeName", 0, {}),
    ("TaintToleration", 3, {}),
    ("NodeAffinity", 2, {}),
    ("NodePorts", 0, {}),
    ("NodeResourcesFit", 1, {"scoringStrategy": {
        "type": "LeastAllocated",
        "resources": [{"name": "cpu", "weight": 1}, {"name": "memory", "weight": 1}]}}),
    ("NodeResourcesBalancedAllocation", 1, {}),
    ("ImageLocality", 1, {}),
]

# ---- plugins-topology: append below this line (PLUGINS[...] = ... and
# DEFAULT_PROFILE.append(...)). Appending keeps Kubernetes' filter order: in
# kube-scheduler PodTopologySpread and InterPodAffinity come after NodeResourcesFit,
# and the two entries above that follow it only score (score order is irrelevant).
PLUGINS["PodTopologySpread"] = _lazy("podtopologyspread", "PodTopologySpread")
PLUGINS["InterPodAffinity"] = _lazy("interpodaffinity", "InterPodAffinity")
DEFAULT_PROFILE.append(("PodTopologySpread", 2, {}))
DEFAULT_PROFILE.append(("InterPodAffinity", 2, {}))
