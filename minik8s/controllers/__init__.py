"""kube-controller-manager: the controllers that make the cluster converge.

In Kubernetes each controller watches some kinds through shared informers and keeps
moving the world toward what the objects ask for: the ReplicaSet controller keeps
pods alive, the Deployment controller rolls templates out, the garbage collector
deletes what lost its owner, and so on. They all have one shape (base.py), and
kube-controller-manager runs them together (manager.py).

The package, one idea per module (read them in this order):

    base.py             the controller shape: InformerSet, Controller (informers ->
                        work queue -> reconcile), Retry/Permanent, Expectations
    podutil.py          active / ready / available pods; which pod to delete first
    controllerref.py    claiming objects: adopt orphans, release what stopped matching
    replicaset.py       ReplicaSetController (LAB 04)
    deployutil.py       pod-template-hash, revisions, annotations, surge arithmetic
    rollout.py          the rolling-update and proportional-scaling decisions (LAB 05)
    deploystatus.py     Deployment status and the Available / Progressing conditions
    deploysync.py       what one Deployment sync does (create, scale, clean up, status)
    deployment.py       DeploymentController
    garbagecollector.py, namespace.py, nodelifecycle.py (+ taintmanager.py), podgc.py
    manager.py          ControllerManager: all of them, shared informers, leader election
"""
