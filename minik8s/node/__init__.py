"""The node: what runs on every machine of a Kubernetes cluster.

In Kubernetes a node runs the kubelet (the agent that makes the pods bound to it run),
a container runtime behind the CRI, and kube-proxy. minik8s keeps the same split:

    kubelet.py          the kubelet component: registers the Node, heartbeats, syncs
                        every pod of the node through the runtime (step()/run())
    podsync.py          the kubelet's pure decisions (Lab 06): start / restart / kill /
                        back off per restartPolicy and CrashLoopBackOff; the pod phase
    podstatus.py        pod.status from what the runtime says (phase, conditions,
                        container states), written only when it changed
    kuberuntime.py      image pulls (ErrImagePull / ImagePullBackOff), container
                        create+start with env and mounts, log lookup for `kubectl logs`
    nodestatus.py       the Node object and its status, the node Lease, pod IPs
                        from the node's podCIDR
    probes.py           startup / liveness / readiness probes on the clock
    podenv.py           a container's environment and the pod's volumes as files
    server.py           the kubelet's HTTP server (logs, pod list, healthz)
    handle.py           the in-process NodeHandle (ping, kill, pause, running pods)
    runtime.py          the CRI-shaped Runtime protocol and its records
    runtime_sim.py      the simulated runtime: scripted containers on the clock
    runtime_process.py  the process runtime: every container a real OS process
"""
