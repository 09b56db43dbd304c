"""Kubernetes' promises, checked on a simulated cluster driven by hypothesis.

A `RuleBasedStateMachine` plays a user and a chaos engineer at once against a
SimCluster (minik8s.sim: the real API server, scheduler, controller-manager and
kubelets, one seeded decision at a time): it creates, scales, updates, rolls back
and deletes Deployments and ReplicaSets, adds, removes and kills nodes, switches
every fault of the simulator on and off, and lets the cluster run. After every rule
and every simulated step the invariant library (minik8s.testing) checks the safety
promises; at the end every fault stops and the cluster must converge (liveness).

On a failure hypothesis prints the rules it ran (the seed is the first one), and the
invariant's message ends with the one command that replays the run and writes its
timeline (text and HTML).

Profiles: "ci" (default; derandomized, a few examples, fits the CI budget) and
"thorough" (thousands of examples, random):
    MINIK8S_HYPOTHESIS_PROFILE=thorough python -m pytest tests/test_property_cluster.py
(`--hypothesis-profile=thorough` works too once conftest.py registers the profiles:
hypothesis loads that option before this module is imported.)
"""
import os

import pytest
from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, precondition,
                                 rule, run_state_machine_as_test)

from minik8s.api.errors import APIError
from minik8s.api.meta import get_path
from minik8s.sim import SimCluster
from minik8s.testing import Checker, InvariantViolated

NS = "default"
IMAGES = ("minik8s/hello:v1", "minik8s/hello:v2", "minik8s/hello:v3")
DEPLOYMENTS = ("web", "api")
REPLICASETS = ("batch",)
COMPONENTS = ("controller-manager", "scheduler")
# Node heartbeats every 10 s (the kubelet's default); the node lifecycle controller
# must allow more than two of them to go missing, as Kubernetes' defaults do (40-50 s).
CONTROLLER_OPTIONS = {"node_monitor_grace_period": 25.0, "dead_node_grace": 30.0}
TOLERATION_SECONDS = 5          # DefaultTolerationSeconds: evict from dead nodes quickly
SETTLE_HORIZON = 330.0          # beyond CrashLoopBackOff's 300 s cap: every timer fires
WARM_UP = 150                   # iterations after the first Deployment: ~40 s, settled

# The profiles "ci" (derandomized, 6 examples x 14 steps) and "thorough" (2000 x 40)
# are registered in tests/conftest.py, so `--hypothesis-profile=thorough` works too.


def profile(name=None) -> settings:
    """The profile to run: MINIK8S_HYPOTHESIS_PROFILE, else the one loaded with
    --hypothesis-profile if it is one of ours, else "ci"."""
    name = name or os.environ.get("MINIK8S_HYPOTHESIS_PROFILE") or \
        getattr(settings, "_current_profile", None)
    return settings.get_profile(name if name in ("ci", "thorough") else "ci")


# Faults a rule can switch on, as (name, options): readable in a failing example.
FAULTS = (
    [("crash_controller", {"after_writes": k}) for k in (1, 3)]
    + [("crash_controller", {"after_writes": 2, "repeat": True})]
    + [("crash_scheduler", {"after_writes": 1})]
    + [("stale_reads", {"component": c}) for c in COMPONENTS]
    + [("delay_watch", {"component": c, "k": k}) for c in COMPONENTS for k in (1, 4)]
    + [("break_watches", {"component": c, "gone": g}) for c in COMPONENTS for g in (False, True)]
    + [("break_watches", {"component": "controller-manager", "gone": True, "p": 0.1})]
    + [("request_failures", {"component": c, "p": 0.2, "error": e})
       for c in COMPONENTS for e in ("ServiceUnavailable", "Conflict")]
    + [("container_crashes", {"p": 0.1}), ("pod_monkey", {"p": 0.05})]
    + [("restart_apiserver", {})]
)
FAULT_NAMES = sorted({name for name, _ in FAULTS})


def deployment(name, replicas, image, surge, unavailable, min_ready=0):
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"replicas": replicas, "minReadySeconds": min_ready,
                     "selector": {"matchLabels": labels},
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": {
                         "maxSurge": surge, "maxUnavailable": unavailable}},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "app", "image": image}]}}}}


def replicaset(name, replicas):
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "app",
                                                           "image": IMAGES[0]}]}}}}


IMAGE_PATH = ("spec", "template", "spec", "containers", 0, "image")
fenceposts = st.sampled_from([(1, 0), (0, 1), (1, 1), ("25%", "25%"), ("50%", 0), (2, "50%")])


class ClusterMachine(RuleBasedStateMachine):
    """See the module docstring. Subclasses set `controller_overrides` (planted bugs)
    or narrow `faults`."""

    controller_overrides: dict = {}
    faults = FAULTS
    max_nodes = 4
    node_rules = True          # add/remove/kill nodes (planted-bug runs may leave them out)
    leader_elect = False       # controller-managers and schedulers elect a leader (Lease)

    def __init__(self):
        super().__init__()
        self.sim = None
        self.checker = None

    @initialize(seed=st.integers(0, 2 ** 16), nodes=st.integers(1, 3), durable=st.booleans(),
                interleave=st.booleans(), replicas=st.integers(1, 4), fence=fenceposts)
    def start(self, seed, nodes, durable, interleave, replicas, fence):
        # interleave: each step delivers only part of the watch events waiting for a
        # component, so caches lag a little behind, as they do in real clusters.
        self.sim = SimCluster(seed=seed, nodes=nodes, durable=durable,
                              interleave_events=interleave, leader_elect=self.leader_elect,
                              controller_options=CONTROLLER_OPTIONS,
                              default_toleration_seconds=TOLERATION_SECONDS,
                              controller_overrides=dict(self.controller_overrides))
        self.checker = Checker(self.sim)
        # Every run starts with one Deployment rolled out and settled, so the rules
        # that follow (set_image, rollback, faults) act on a fully available one.
        self.create_deployment("web", replicas, IMAGES[0], fence, 0)
        self.checker.after_step()
        self.checker.run_checked(self.sim, WARM_UP)

    # --- the user's actions ---------------------------------------------------------------
    def _try(self, fn, *args, **kwargs):
        """An API call of the user's; API errors (AlreadyExists, NotFound...) are the
        user's problem, as with kubectl. True when it succeeded."""
        try:
            fn(*args, **kwargs)
            return True
        except APIError:
            return False

    def _expect(self, resource, name, fields):
        self.checker.expect_spec(resource, NS, name, fields)

    @rule(name=st.sampled_from(DEPLOYMENTS), replicas=st.integers(0, 4),
          image=st.sampled_from(IMAGES), fence=fenceposts, min_ready=st.sampled_from([0, 0, 2]))
    def create_deployment(self, name, replicas, image, fence, min_ready):
        manifest = deployment(name, replicas, image, *fence, min_ready)
        if self._try(self.sim.client.create, manifest, NS):
            self._expect("deployments", name, {("spec", "replicas"): replicas, IMAGE_PATH: image})

    @rule(name=st.sampled_from(DEPLOYMENTS), replicas=st.integers(0, 4))
    def scale_deployment(self, name, replicas):
        if self._try(self.sim.client.scale, "deployments", name, NS, replicas):
            self._expect("deployments", name, {("spec", "replicas"): replicas})

    @rule(name=st.sampled_from(DEPLOYMENTS), image=st.sampled_from(IMAGES))
    def set_image(self, name, image):
        patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}}
        if self._try(self.sim.client.patch, "deployments", name, patch, NS, patch_type="strategic"):
            self._expect("deployments", name, {IMAGE_PATH: image})

    @rule(name=st.sampled_from(DEPLOYMENTS))
    def rollback(self, name):
        """`kubectl rollout undo`: the previous revision's template, written back."""
        try:
            d = self.sim.client.get("deployments", name, NS)
        except APIError:
            return
        uid = d["metadata"]["uid"]
        owned = [rs for rs in self.sim.client.list("replicasets", NS).items
                 if any(r.get("uid") == uid for r in rs["metadata"].get("ownerReferences") or [])]
        owned.sort(key=lambda rs: int(get_path(rs, "metadata", "annotations",
                                               "deployment.kubernetes.io/revision") or 0))
        if len(owned) < 2:
            return
        template = dict(owned[-2]["spec"]["template"])
        labels = dict(template["metadata"]["labels"])
        labels.pop("pod-template-hash", None)
        template["metadata"] = dict(template["metadata"], labels=labels)
        patch = [{"op": "replace", "path": "/spec/template", "value": template}]
        if self._try(self.sim.client.patch, "deployments", name, patch, NS, patch_type="json"):
            self._expect("deployments", name, {IMAGE_PATH: get_path(template, *IMAGE_PATH[2:])})

    @rule(name=st.sampled_from(DEPLOYMENTS),
          policy=st.sampled_from(["Background", "Foreground", "Orphan"]))
    def delete_deployment(self, name, policy):
        if self._try(self.sim.client.delete, "deployments", name, NS, propagation_policy=policy):
            self.checker.forget_spec("deployments", NS, name)

    @rule(name=st.sampled_from(REPLICASETS), replicas=st.integers(0, 3))
    def create_replicaset(self, name, replicas):
        if self._try(self.sim.client.create, replicaset(name, replicas), NS):
            self._expect("replicasets", name, {("spec", "replicas"): replicas})

    @rule(name=st.sampled_from(REPLICASETS), replicas=st.integers(0, 3))
    def scale_replicaset(self, name, replicas):
        if self._try(self.sim.client.scale, "replicasets", name, NS, replicas):
            self._expect("replicasets", name, {("spec", "replicas"): replicas})

    @rule(name=st.sampled_from(REPLICASETS))
    def delete_replicaset(self, name):
        if self._try(self.sim.client.delete, "replicasets", name, NS):
            self.checker.forget_spec("replicasets", NS, name)

    # --- nodes ------------------------------------------------------------------------------
    def _live_nodes(self):
        return sorted(n for n, h in self.sim.handles.items() if h.alive)

    @precondition(lambda self: self.node_rules and self.sim is not None
                  and len(self.sim.handles) < self.max_nodes)
    @rule()
    def add_node(self):
        self.sim.add_node()

    @precondition(lambda self: self.node_rules and self.sim is not None
                  and len(self.sim.handles) > 1)
    @rule(i=st.integers(0, 3))
    def remove_node(self, i):
        names = sorted(self.sim.handles)
        self.checker.disrupt("a node was removed")
        self.sim.remove_node(names[i % len(names)])

    @precondition(lambda self: self.node_rules and self.sim is not None
                  and len(self.sim.handles) > 1)
    @rule(i=st.integers(0, 3))
    def kill_node(self, i):
        live = self._live_nodes()
        if live:
            self.sim.faults.kill_node.on(live[i % len(live)])

    @precondition(lambda self: self.node_rules)
    @rule()
    def revive_nodes(self):
        self.sim.faults.kill_node.off()

    # --- faults ----------------------------------------------------------------------------
    @rule(data=st.data())
    def fault_on(self, data):
        name, options = data.draw(st.sampled_from(self.faults), label="fault")
        if name == "restart_apiserver" and not self.sim.durable:
            return
        getattr(self.sim.faults, name).on(**options)

    @rule(name=st.sampled_from(FAULT_NAMES))
    def fault_off(self, name):
        getattr(self.sim.faults, name).off()

    # --- time ---------------------------------------------------------------------------
    @rule(iterations=st.integers(1, 120))
    def run(self, iterations):
        self.checker.run_checked(self.sim, iterations)

    # --- the promises --------------------------------------------------------------------
    @invariant()
    def safety(self):
        if self.checker is not None:
            self.checker.after_step()

    def teardown(self):
        if self.sim is None:
            return
        try:
            self.checker.check_liveness(max_steps=30_000, horizon=SETTLE_HORIZON, window=60.0)
        finally:
            self.checker.close()
            self.sim.close()


def run_machine(machine=ClusterMachine, settings_=None, **changes):
    """Run a machine under a profile (with `changes`, e.g. phases)."""
    base = settings_ or profile()
    run_state_machine_as_test(machine, settings=settings(base, **changes))


def test_kubernetes_promises_hold_under_random_operations_and_faults():
    run_machine(ClusterMachine, phases=[Phase.explicit, Phase.reuse, Phase.generate,
                                        Phase.shrink])


# --- the checker on a simulated cluster, one broken promise at a time ----------------------
# Each test breaks one layer the way a student's lab could, and the Checker must say so.

def small_cluster(nodes=1):
    sim = SimCluster(seed=3, nodes=nodes, controller_options=CONTROLLER_OPTIONS)
    return sim, Checker(sim)


def violated(checker):
    return sorted({v.invariant for v in checker.after_step(raise_on_violation=False)})


def test_checker_reports_an_api_server_that_ignores_resource_versions():
    sim, checker = small_cluster()
    try:
        sim.client.create(replicaset("batch", 0), NS)
        first = sim.client.get("replicasets", "batch", NS)
        second = sim.client.get("replicasets", "batch", NS)
        original = sim.api.update

        def careless(rt, body, namespace, name, **kw):   # the precondition, forgotten
            body["metadata"].pop("resourceVersion", None)
            return original(rt, body, namespace, name, **kw)
        sim.api.update = careless
        first["metadata"]["labels"] = {"writer": "one"}
        second["metadata"]["labels"] = {"writer": "two"}
        sim.client.update(first)
        sim.client.update(second)                        # based on a stale version
        assert violated(checker) == ["no_lost_update"]
    finally:
        sim.close()


def test_checker_reports_an_object_removed_despite_its_finalizers():
    from minik8s.store.types import delete
    sim, checker = small_cluster()
    try:
        rs = replicaset("batch", 0)
        rs["metadata"]["finalizers"] = ["example.com/keep"]
        sim.client.create(rs, NS)
        assert violated(checker) == []
        sim.store.txn([], [delete("/registry/replicasets/default/batch")])
        assert violated(checker) == ["finalizers_respected"]
    finally:
        sim.close()


def test_checker_reports_a_scheduler_that_ignores_taints(monkeypatch):
    import minik8s.scheduler.plugins.basic as basic
    monkeypatch.setattr(basic, "tolerates", lambda toleration, taint: True)
    sim, checker = small_cluster()
    try:
        taint = {"key": "dedicated", "value": "db", "effect": "NoSchedule"}
        sim.client.patch("nodes", "node-1", {"spec": {"taints": [taint]}})
        checker.run_checked(sim, 5)                      # the scheduler sees the taint
        sim.client.create(replicaset("batch", 1), NS)
        found = set()
        for _ in range(40):
            if sim.step():
                found.update(violated(checker))
            else:
                sim.advance()
        assert "tolerated_binding" in found
    finally:
        sim.close()


def test_checker_reports_watch_events_delivered_out_of_order():
    from minik8s.sim.trace import TraceEvent
    sim, checker = small_cluster()
    try:
        checker.after_step()
        for rv in ("9", "7"):
            sim.trace.record(TraceEvent(sim.steps, 0.0, "scheduler", "event", "MODIFIED",
                                        "pods", NS, "p", "u", rv, detail="pods#99"))
        assert violated(checker) == ["watch_order"]
    finally:
        sim.close()


def test_checker_reports_a_user_write_a_controller_undid():
    sim, checker = small_cluster()
    try:
        sim.client.create(replicaset("batch", 1), NS)
        checker.expect_spec("replicasets", NS, "batch", {("spec", "replicas"): 1})
        assert violated(checker) == []
        sim.harness_client.patch("replicasets", "batch", {"spec": {"replicas": 2}}, NS)
        assert violated(checker) == ["spec_kept"]
    finally:
        sim.close()


def test_liveness_needs_the_cluster_to_converge():
    """A ReplicaSet with no controller-manager to run it never gets its pods."""
    sim = SimCluster(seed=3, nodes=1, controllers=[])
    checker = Checker(sim)
    try:
        sim.client.create(replicaset("batch", 2), NS)
        with pytest.raises(InvariantViolated, match="replicasets_stable"):
            checker.check_liveness(max_steps=2000, horizon=30.0, window=10.0)
    finally:
        sim.close()
