"""The protobuf subset `kubectl create <generator>` sends, decoded into JSON objects.

The end-to-end check (real kubectl) is in test_kubectl.py; these pin the decoding rules
on hand-built messages: Go's zero values vanish as JSON's omitempty would make them,
pointer fields keep an explicit zero, and nothing unknown is silently dropped.
"""
from __future__ import annotations

import pytest

from minik8s.api import errors
from minik8s.apiserver.protobuf import MAGIC, decode


def varint(n: int) -> bytes:
    n &= (1 << 64) - 1                       # negative ints: 10-byte two's complement
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def field(number: int, value) -> bytes:
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    if isinstance(value, str):
        value = value.encode()
    return varint(number << 3 | 2) + varint(len(value)) + value


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = field(1, api_version) + field(2, kind)
    return MAGIC + field(1, type_meta) + field(2, raw) + field(3, "") + field(4, "")


META = field(1, field(1, "web") + field(2, "") + field(3, "") + field(7, 0) + field(8, b"")
             + field(11, field(1, "app") + field(2, "web")))


def test_go_zero_values_are_dropped_but_a_pointer_zero_is_kept():
    spec = field(1, 0) + field(5, 0) + field(7, 0) + field(4, field(1, ""))   # replicas=0
    obj = decode(envelope("apps/v1", "Deployment", META + field(2, spec) + field(3, b"")))
    assert obj == {"apiVersion": "apps/v1", "kind": "Deployment",
                   "metadata": {"name": "web", "labels": {"app": "web"}},
                   "spec": {"replicas": 0}}


def test_secret_bytes_become_base64_and_int_or_string_ports_keep_their_type():
    secret = decode(envelope("v1", "Secret", META + field(2, field(1, "pw") + field(2, b"\xff"))))
    assert secret["data"] == {"pw": "/w=="}
    port = field(3, 80) + field(4, field(1, 1) + field(2, 0) + field(3, "http"))
    svc = decode(envelope("v1", "Service", META + field(2, field(1, port) + field(4, "ClusterIP"))))
    assert svc["spec"] == {"ports": [{"port": 80, "targetPort": "http"}], "type": "ClusterIP"}
    neg = decode(envelope("v1", "Namespace", field(1, field(1, "n") + field(7, -1))))
    assert neg["metadata"]["generation"] == -1


def test_kubectl_autoscale_body():
    # as captured from `kubectl autoscale deploy ed --min=2 --max=5 --cpu-percent=70`
    ref = field(1, "Deployment") + field(2, "ed") + field(3, "apps/v1")
    spec = field(1, ref) + field(2, 2) + field(3, 5) + field(4, 70)
    hpa = decode(envelope("autoscaling/v1", "HorizontalPodAutoscaler",
                          META + field(2, spec) + field(3, b"\x18\x00 \x00")))
    assert hpa["spec"] == {"scaleTargetRef": {"kind": "Deployment", "name": "ed",
                                              "apiVersion": "apps/v1"},
                           "minReplicas": 2, "maxReplicas": 5,
                           "targetCPUUtilizationPercentage": 70}


def test_what_we_cannot_decode_is_refused_not_dropped():
    with pytest.raises(errors.UnsupportedMediaType, match="ConfigMap, Secret"):
        decode(envelope("rbac.authorization.k8s.io/v1", "Role", META))
    with pytest.raises(errors.UnsupportedMediaType, match="Namespace.metadata: protobuf "
                                                          "field 13 "):
        decode(envelope("v1", "Namespace", field(1, field(1, "n") + field(13, "owner"))))
    decode(envelope("v1", "Namespace", field(1, field(1, "n") + field(13, b""))))  # unset: fine
    with pytest.raises(errors.BadRequest, match="truncated"):
        decode(envelope("v1", "Namespace", field(1, "n"))[:-3] + b"\x12\x09")
    with pytest.raises(errors.BadRequest, match="should be a varint"):
        decode(envelope("v1", "Namespace", field(1, field(7, "not a number"))))
    with pytest.raises(errors.BadRequest, match="UTF-8"):
        decode(envelope("v1", "Namespace", field(1, field(1, b"\xff"))))
    with pytest.raises(errors.BadRequest, match="magic"):
        decode(b'{"kind":"Namespace"}')
