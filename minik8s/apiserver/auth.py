"""Authentication and authorization: the first two stages of the pipeline.

kube-apiserver first decides *who* sends a request (authentication: client
certificates, bearer tokens, ServiceAccount tokens) and then whether that user *may*
do it (authorization: RBAC rules in Roles and ClusterRoles, granted by bindings).
Each stage is a small function here so RBAC can replace the allow-all default
without touching the rest of the pipeline:

    authenticate(request) -> UserInfo          raises Unauthorized
    authorize(user, request, resource_type)    raises Forbidden
"""
from __future__ import annotations

from .request import ADMIN, Request, UserInfo


def allow_all_authenticator(req: Request) -> UserInfo:
    """Everyone is the cluster admin (a kind/minikube-style local cluster)."""
    return ADMIN


def allow_all_authorizer(user: UserInfo, req: Request, rt) -> None:
    return None
