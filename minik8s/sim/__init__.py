"""The deterministic simulator (DESIGN.md §9): the real components of minik8s in one
process, under one FakeClock, stepped one seeded decision at a time, with faults.

    from minik8s.sim import SimCluster
    sim = SimCluster(seed=7, nodes=3)
    sim.client.create(deployment)
    sim.faults.crash_controller.on(after_writes=2)
    sim.run(200)
    sim.faults.off()
    sim.settle()
    print(sim.trace.text(last=40))

- cluster.py: SimCluster (components, step/advance/run_until/settle, API restarts)
- nodes.py: node operations (add, kill, restart, pause, resume, remove)
- builders.py: how each component is (re)built; the shared pod informer for scale
- clients.py: each component's client stack (tracing, crash countdown, watch buffers)
- components.py: the bookkeeping of one component; describe() for stuck runs
- faults.py, faults_nodes.py: every fault, each with on()/off()
- snapshot.py: Snapshot, what invariants read (minik8s.testing)
- trace.py, trace_html.py: the event log and the text / HTML timelines
- script.py, replay.py: scripts of runs, and `python -m minik8s.sim.replay`
"""
from .cluster import SimCluster
from .components import SimBudgetExhausted
from .snapshot import Snapshot
from .trace import Trace, TraceEvent

__all__ = ["SimCluster", "SimBudgetExhausted", "Snapshot", "Trace", "TraceEvent"]
