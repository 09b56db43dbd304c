"""kube-scheduler: decides which node each new pod runs on.

In Kubernetes the scheduler watches pods whose `spec.nodeName` is empty and whose
`spec.schedulerName` is its own, runs each through a *scheduling cycle* of plugins
(filter the nodes that can take it, score the ones that can, pick the best) and writes
the decision through the `pods/binding` subresource. It never starts anything: the
kubelet of the chosen node sees the bound pod and runs it.

The package, one idea per module (read them in this order):

    framework.py   the vocabulary: Status, Resources, NodeInfo, CycleState, Plugin
    plugins/       the in-tree plugins by their Kubernetes names, and the default
                   profile (PLUGINS, DEFAULT_PROFILE); LAB 03 lives in them
    cycle.py       one scheduling cycle: PreFilter, Filter (percentageOfNodesToScore),
                   PreScore, Score, NormalizeScore, weights, select_host; Profile
    config.py      a Profile from a KubeSchedulerConfiguration file/dict or from code
    queue.py       the SchedulingQueue: active, backoff, unschedulable; moves on
                   cluster events; the periodic flush
    cache.py       the SchedulerCache: nodes and the pods on them, incl. *assumed*
                   pods (decided, binding not yet seen), so the next decision counts them
    scheduler.py   the component: informers -> cache/queue; step(): pop, schedule,
                   assume, bind, events, PodScheduled condition; leader election
    explain.py     why a pod went where it did, as kube-scheduler-simulator's
                   annotations (filter/score results per node and plugin)

Only scheduler.py does I/O (through a Client); everything else is pure data and
functions over it, which is what lets the lab test a plugin with a table.
"""
