"""Taints and tolerations: does a toleration tolerate a taint?

Kubernetes defines this once (`Toleration.ToleratesTaint` in k8s.io/api/core/v1) and
the scheduler's TaintToleration plugin, the taint-eviction controller and PodTopology-
Spread's node filter all call it. Here too — except the scheduler's own copy inside
Lab 03 (students write that one; nothing else may depend on a student's code).

Rules: an empty toleration key or effect is a wildcard (`{operator: Exists}` tolerates
every taint); operator Exists ignores the value; Equal (the default) needs the same
value; any other operator tolerates nothing. tolerationSeconds plays no part here.
"""
from __future__ import annotations


def tolerates(toleration: dict, taint: dict) -> bool:
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    if toleration.get("key") and toleration["key"] != taint.get("key"):
        return False
    op = toleration.get("operator") or "Equal"
    if op == "Exists":
        return True
    return op == "Equal" and (toleration.get("value") or "") == (taint.get("value") or "")


def untolerated(tolerations: list, taints: list, effects=("NoSchedule", "NoExecute")) -> list:
    """The taints with one of `effects` that no toleration tolerates."""
    return [t for t in taints or () if t.get("effect") in effects
            and not any(tolerates(tl, t) for tl in tolerations or ())]
