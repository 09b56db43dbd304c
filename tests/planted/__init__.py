"""Planted bugs: deliberately wrong variants of real controllers.

Each module here is a small subclass of a minik8s controller with one classic
controller bug put back in — the bugs the shape of a Kubernetes controller exists to
prevent. tests/test_planted_bugs.py swaps each one into the simulated cluster's
controller-manager (SimCluster(controller_overrides=...)) and runs the same property
test as tests/test_property_cluster.py: the invariants must catch every one. That is
the proof that the property tests can fail.

- edge_triggered: a ReplicaSet controller that acts on what each event says changed
  instead of comparing the current state with the spec (level-triggered);
- act_by_name: a Deployment controller that writes back the Deployment from its
  cache by name, without the uid and resourceVersion it read;
- no_expectations: a ReplicaSet controller without client-go's expectations, so a
  cache that has not seen its own creations yet makes it create them again.
"""
