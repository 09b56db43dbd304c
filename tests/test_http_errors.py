"""The HTTP layer's answers to bad requests: always a `Status`, always the Kubernetes code.

kubectl and client-go turn the body of every failed request back into a typed error
(`Error from server (<reason>): <message>`), so a failure must come back as a `Status`
with kind/apiVersion/status/message/reason/code — whatever went wrong, wherever — and
the server must go on serving afterwards (an oversized body, a method it does not
know, a malformed line).
"""
from __future__ import annotations

import json
import socket

import pytest
import requests

NS = "http-errors"
CM = f"/api/v1/namespaces/{NS}/configmaps"
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def http(http_server):
    session = requests.Session()
    base = http_server.url

    def call(method: str, path: str, body=None, *, headers=None, data=None):
        if body is not None:
            data = json.dumps(body)
        return session.request(method, base + path, data=data, headers=headers or JSON)
    call("POST", "/api/v1/namespaces", {"metadata": {"name": NS}})
    return call


def cm(name: str, **meta) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, **meta},
            "data": {"k": "v"}}


def status_of(response, code: int, reason: str) -> dict:
    """The response is a Failure Status with this code and reason."""
    assert response.status_code == code, response.text
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert {k: body.get(k) for k in ("kind", "apiVersion", "status", "reason", "code")} == {
        "kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason,
        "code": code}, body
    assert body["message"]
    return body


def test_undecodable_bodies_are_bad_requests(http):
    status_of(http("POST", CM, data="{not json"), 400, "BadRequest")
    status_of(http("POST", CM, data="a: [b: :", headers={"Content-Type": "application/yaml"}),
              400, "BadRequest")
    status_of(http("POST", CM, data="[1, 2]"), 400, "BadRequest")
    # a kind that is not the URL's, and a namespace that is not the URL's
    status_of(http("POST", f"/api/v1/namespaces/{NS}/pods", cm("bogus") | {"kind": "Bogus"}),
              400, "BadRequest")
    status_of(http("POST", CM, cm("elsewhere", namespace="other")), 400, "BadRequest")
    status_of(http("POST", CM, data=b"k8s\x00\x0a\x02", headers={
        "Content-Type": "application/vnd.kubernetes.protobuf"}), 400, "BadRequest")


def test_yaml_and_json_without_content_type_are_accepted(http):
    created = http("POST", CM, data="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: y}\n",
                   headers={"Content-Type": "application/yaml"})
    assert created.status_code == 201 and created.json()["metadata"]["name"] == "y"
    # The Python client and `kubectl scale --current-replicas` send JSON with no type.
    created = http("POST", CM, data=json.dumps(cm("no-type")), headers={})
    assert created.status_code == 201 and created.json()["data"] == {"k": "v"}


def test_unknown_paths_are_not_found(http):
    status_of(http("GET", f"/api/v1/namespaces/{NS}/bogus"), 404, "NotFound")
    status_of(http("GET", "/apis/nope.example.com/v1/things"), 404, "NotFound")
    status_of(http("GET", "/apis/apps/v2/deployments"), 404, "NotFound")
    status_of(http("GET", "/not/an/api/path"), 404, "NotFound")
    body = status_of(http("GET", f"{CM}/missing"), 404, "NotFound")
    assert body["message"] == 'configmaps "missing" not found'
    assert body["details"] == {"name": "missing", "kind": "configmaps"}


def test_validation_failures_are_invalid_with_causes(http):
    body = status_of(http("POST", CM, {"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {}}), 422, "Invalid")
    assert [c["field"] for c in body["details"]["causes"]] == ["metadata.name"]
    assert body["details"]["causes"][0]["reason"] == "FieldValueRequired"
    body = status_of(http("POST", CM, cm("Web_1")), 422, "Invalid")
    assert body["message"].startswith('ConfigMap "Web_1" is invalid: metadata.name: '
                                      'Invalid value: "Web_1"')
    assert body["details"]["name"] == "Web_1" and body["details"]["kind"] == "ConfigMap"


def test_write_conflicts(http):
    first = http("POST", CM, cm("twice"))
    assert first.status_code == 201
    body = status_of(http("POST", CM, cm("twice")), 409, "AlreadyExists")
    assert body["message"] == 'configmaps "twice" already exists'
    current = first.json()
    assert http("PUT", f"{CM}/twice", current | {"data": {"k": "v2"}}).status_code == 200
    # `current` now holds a stale resourceVersion: optimistic concurrency says 409
    body = status_of(http("PUT", f"{CM}/twice", current | {"data": {"k": "v3"}}),
                     409, "Conflict")
    assert "the object has been modified" in body["message"]
    assert http("GET", f"{CM}/twice").json()["data"] == {"k": "v2"}


def test_methods_and_media_types_that_do_not_fit(http):
    http("POST", CM, cm("target"))
    status_of(http("POST", f"{CM}/target", cm("target")), 405, "MethodNotAllowed")
    status_of(http("PUT", CM, cm("target")), 405, "MethodNotAllowed")
    status_of(http("OPTIONS", CM), 405, "MethodNotAllowed")
    body = status_of(http("PATCH", f"{CM}/target", {"data": {}},
                          headers={"Content-Type": "text/plain"}), 415, "UnsupportedMediaType")
    assert "application/strategic-merge-patch+json" in body["message"]
    status_of(http("POST", CM, data="x", headers={"Content-Type": "text/csv"}),
              415, "UnsupportedMediaType")
    patched = http("PATCH", f"{CM}/target", {"data": {"k": "patched"}},
                   headers={"Content-Type": "application/merge-patch+json"})
    assert patched.status_code == 200 and patched.json()["data"] == {"k": "patched"}


def test_delete_options_from_the_body_or_the_query(http):
    http("POST", CM, cm("by-body"))
    http("POST", CM, cm("by-query"))
    gone = http("DELETE", f"{CM}/by-body", {"kind": "DeleteOptions", "apiVersion": "v1",
                                            "propagationPolicy": "Background"})
    assert gone.status_code == 200
    assert {k: gone.json()[k] for k in ("kind", "status")} == {"kind": "Status",
                                                               "status": "Success"}
    status_of(http("GET", f"{CM}/by-body"), 404, "NotFound")
    # Orphan records an `orphan` finalizer for the garbage collector: still there, marked
    kept = http("DELETE", f"{CM}/by-query?propagationPolicy=Orphan")
    assert kept.status_code == 200
    assert kept.json()["metadata"]["finalizers"] == ["orphan"]
    assert kept.json()["metadata"]["deletionTimestamp"]
    status_of(http("DELETE", f"{CM}/by-query", {"propagationPolicy": "Sideways"}),
              400, "BadRequest")


def test_a_body_over_the_limit_is_refused_and_the_server_keeps_serving(http, http_server):
    huge = json.dumps(cm("huge") | {"data": {"k": "x" * (10 << 20)}})
    body = status_of(http("POST", CM, data=huge), 413, "RequestEntityTooLarge")
    assert body["message"] == "Request entity too large: limit is 3145728"
    status_of(http("GET", f"{CM}/huge"), 404, "NotFound")
    # A request line http.server cannot parse is answered with a Status too.
    host, port = http_server.server_address[:2]
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(b"NOT A REQUEST\r\n\r\n")
        reply = s.recv(4096)
    assert reply.startswith(b"HTTP/1.1 400 ") and b'"kind":"Status"' in reply
    health = http("GET", "/healthz")
    assert (health.status_code, health.text) == (200, "ok")
