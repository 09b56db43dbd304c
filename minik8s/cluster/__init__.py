"""Bring-up: running minik8s as a real cluster, as `kind` or `kubeadm` do for Kubernetes.

Kubernetes' control plane is a set of processes (kube-apiserver, kube-scheduler,
kube-controller-manager) next to etcd; `kind create cluster` starts them and writes a
kubeconfig. minik8s does the same with fewer moving parts:

- `controlplane.py`: the **control-plane host**, one background process that opens the
  store, serves the API over HTTP and runs the scheduler as a thread (the
  controller-manager joins it in a later issue).
- `local.py`: `LocalCluster`, the whole cluster in one process (pipeline, scheduler,
  kubelets) stepped under a fake clock: the harness of tests and the simulator.
- `bringup.py`: what `minik8s up / down / status / chaos` do: start the host detached,
  wait until the API answers, write the kubeconfig context, stop it again by its
  recorded pid, report what runs.
- `processes.py`: the host seen from outside: start it detached, check that a recorded
  pid still is our host before signalling it, health checks.

Everything `up` starts is recorded in the data directory (`~/.minik8s` by default), so
`down`, `status` and `chaos` find it from any shell.
"""
