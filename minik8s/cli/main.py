"""The `minik8s` command: bring a cluster up and down, look at it, break it on purpose.

kind and minikube are what `minik8s` plays for Kubernetes: they start a control plane
and write a kubeconfig, and then the real `kubectl` does the rest. The command line is
a contract (DESIGN.md §8): scripts, labs and tests rely on it, so flags are added,
never renamed:

    minik8s up     [--nodes N] [--runtime process|simulated] [--node-cpu 4]
                   [--node-memory 8Gi] [--port 6443] [--data-dir DIR] [--kubeconfig PATH]
                   [--address RAY_ADDRESS] [--store memory|sqlite|etcd] [--etcd URL]
                   [--control-plane-replicas 1|2|3]
    minik8s down   [--data-dir DIR]
    minik8s status [--data-dir DIR]
    minik8s chaos  kill-node NAME | kill COMPONENT   [--data-dir DIR]
    minik8s version

This module only parses; the work is in `minik8s.cluster.bringup`. `--store etcd`
answers "not available yet" with exit code 2.
"""
from __future__ import annotations

import argparse
import sys

from minik8s import __version__


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="minik8s", description="Kubernetes, small enough to read.")
    p.add_argument("--version", action="version", version=f"minik8s {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("version", help="print the version")

    data_dir = argparse.ArgumentParser(add_help=False)
    data_dir.add_argument("--data-dir", default=None, metavar="DIR",
                          help="where the cluster's state and store live (default ~/.minik8s)")

    up = sub.add_parser("up", parents=[data_dir], help="bring a cluster up")
    up.add_argument("--nodes", type=int, default=3, metavar="N",
                    help="worker nodes (default 3; 0 = control plane only)")
    up.add_argument("--runtime", choices=("process", "simulated"), default="process",
                    help="how nodes run containers (default process)")
    up.add_argument("--node-cpu", default="4", help="CPU capacity of each node (default 4)")
    up.add_argument("--node-memory", default="8Gi",
                    help="memory capacity of each node (default 8Gi)")
    up.add_argument("--port", type=int, default=None,
                    help="API server port on 127.0.0.1 (default: the last one used with "
                         "this data directory, else 6443; 0 = any free port)")
    up.add_argument("--kubeconfig", default=None, metavar="PATH",
                    help='merge a "minik8s" context into PATH (default ~/.kube/config, '
                         "or the first file of $KUBECONFIG, as kind does)")
    up.add_argument("--address", default=None, metavar="RAY_ADDRESS",
                    help="an existing Ray cluster for the nodes (default: a private one)")
    up.add_argument("--store", choices=("memory", "sqlite", "etcd"), default="sqlite",
                    help="where objects live (default sqlite: DIR/store.db, durable)")
    up.add_argument("--etcd", default=None, metavar="URL", help="etcd endpoint for --store etcd")
    up.add_argument("--control-plane-replicas", type=int, default=1, metavar="N",
                    help="schedulers and controller-managers each (leader-elected; default 1)")

    sub.add_parser("down", parents=[data_dir], help="stop what `up` started (keeps the store)")
    sub.add_parser("status", parents=[data_dir],
                   help="what runs (exit 0 running, 1 not answering, 3 not running)")

    chaos = sub.add_parser("chaos", help="break the cluster the way a crash would")
    actions = chaos.add_subparsers(dest="action", metavar="ACTION", required=True)
    kill_node = actions.add_parser("kill-node", parents=[data_dir], help="kill a node actor")
    kill_node.add_argument("name", metavar="NAME")
    kill = actions.add_parser("kill", parents=[data_dir],
                              help="kill a control-plane component (SIGKILL)")
    kill.add_argument("component", metavar="COMPONENT",
                      choices=("apiserver", "scheduler", "controller-manager"))
    return p


def main(argv: list | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "version":
        print(f"minik8s {__version__}")
        return 0
    if args.command is None:
        parser.print_help()
        return 0
    from minik8s.cluster import bringup     # not imported for --help or version
    if args.command == "up":
        return bringup.up(args.data_dir, port=args.port, nodes=args.nodes, store=args.store,
                          kubeconfig=args.kubeconfig, address=args.address, etcd=args.etcd,
                          runtime=args.runtime, node_cpu=args.node_cpu,
                          node_memory=args.node_memory,
                          control_plane_replicas=args.control_plane_replicas)
    if args.command == "down":
        return bringup.down(args.data_dir)
    if args.command == "status":
        return bringup.status(args.data_dir)
    if args.action == "kill-node":
        return bringup.chaos_kill_node(args.data_dir, args.name)
    return bringup.chaos_kill(args.data_dir, args.component)


if __name__ == "__main__":
    sys.exit(main())
