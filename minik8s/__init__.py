"""minik8s: Kubernetes, small enough to read in a weekend.

Layers, bottom up: `api` (object model + the seam's vocabulary) and `store` (etcd's
model) -> `apiserver` (request pipeline, then HTTP) -> `client` (in-process and HTTP
clients, informers, work queues) -> components (scheduler, controllers, kubelet).
A component never imports another component; they meet only through the API.
"""
__version__ = "0.1.0"
