"""The HTTP client against a real API server over HTTP: it must behave exactly like the
in-process client (same objects, same typed errors, same watch streams), and find its
server through kubeconfig files the way kubectl does."""
import json
import os
import random
import socket
import stat
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from minik8s.api import errors
from minik8s.api.clock import RealClock
from minik8s.apiserver.http import serve
from minik8s.apiserver.request import ADMIN
from minik8s.apiserver.server import APIServer
from minik8s.client import kubeconfig
from minik8s.client.http import HTTPClient, error_from
from minik8s.client.informer import Informer
from minik8s.client.inprocess import InProcessClient
from minik8s.client.interface import ERROR, Client, WatchEvent, WatchStream
from minik8s.client.kubeconfig import KubeconfigError, merge_context, remove_context
from minik8s.client.wrappers import RecordingClient
from minik8s.store.memory import MemoryStore

from builders import deployment, pod

WAIT = 5.0     # the longest any test waits for an event that should come at once


def names(objs):
    return [o["metadata"]["name"] for o in objs]


def collect(stream, n):
    """The next n events of a stream (fails if they do not come within WAIT seconds)."""
    out = []
    while len(out) < n:
        got = stream.wait(WAIT)
        assert got, f"only {len(out)} of {n} events arrived: {out}"
        out += got
    return out


@pytest.fixture(scope="module")
def http(http_server):
    c = HTTPClient(http_server.url)
    yield c
    c.close()


@pytest.fixture
def ns(http, request):
    """A fresh namespace per test: the session's server is shared."""
    name = "hc-" + format(zlib.crc32(request.node.name.encode()), "08x")
    http.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name


@pytest.fixture(scope="module")
def own():
    """A server of our own: its store can be compacted, its kubelet proxy and its
    authenticator are ours (tokens seen; "bad" is refused)."""
    tokens = []

    def authenticate(req):
        tokens.append(req.token)
        if req.token == "bad":
            raise errors.Unauthorized("Unauthorized")
        return ADMIN

    store = MemoryStore()
    api = APIServer(store, RealClock(), random.Random(3), authenticator=authenticate)
    api.node_proxy = lambda pod, what, params: (
        f"{what} of {pod['metadata']['name']} {json.dumps(params, sort_keys=True)}\n")
    httpd = serve(api, "127.0.0.1", 0)
    httpd.tokens = tokens
    yield httpd
    httpd.stopping.set()
    httpd.shutdown()
    store.close()


@pytest.fixture(scope="module")
def canned():
    """A stand-in server answering every GET with `canned.answer` = (code, type, body):
    for answers the real server never gives."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            code, ctype, body = self.server.answer
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body.encode())))
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
    srv.url = "http://127.0.0.1:%d" % srv.server_address[1]
    yield srv
    srv.shutdown()
    srv.server_close()


# --- objects ----------------------------------------------------------------------------

def test_http_client_is_a_client_and_its_watch_a_watch_stream(http, ns):
    assert isinstance(http, Client)
    w = http.watch("pods", ns)
    assert isinstance(w, WatchStream)
    w.close()


def test_create_fills_server_fields_and_get_returns_the_same_object(http, ns):
    d = http.create(deployment(), ns)
    meta = d["metadata"]
    assert meta["namespace"] == ns and meta["generation"] == 1 and len(meta["uid"]) == 36
    assert isinstance(meta["resourceVersion"], str)
    assert d["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert http.get("deploy", "web", ns) == d
    # The namespace can come from the object as well.
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": ns}}
    assert http.create(cm)["metadata"]["namespace"] == ns


def test_list_with_selectors_returns_items_and_the_list_resource_version(http, ns):
    node = ns + "-node"
    http.create(pod("a", {"app": "web", "tier": "fe"}), ns)
    http.create(pod("b", {"app": "web"}, node=node), ns)
    last = http.create(pod("c", {"app": "db"}), ns)
    lst = http.list("pods", ns, label_selector="app=web")
    assert names(lst.items) == ["a", "b"] and lst.kind == "PodList"
    assert all(p["kind"] == "Pod" and p["apiVersion"] == "v1" for p in lst.items)
    assert int(lst.resource_version) >= int(last["metadata"]["resourceVersion"])
    assert names(http.list("pods", ns, label_selector="app in (web,db),!tier").items) == [
        "b", "c"]
    # Across all namespaces (the path /api/v1/pods), with a field selector.
    assert names(http.list("pods", field_selector=f"spec.nodeName={node}").items) == ["b"]
    with pytest.raises(errors.BadRequest):
        http.list("pods", ns, field_selector="spec.bogus=1")


def test_list_pages_with_limit_and_continue(http, ns):
    for i in range(5):
        http.create(pod(f"p{i}"), ns)
    first = http.list("pods", ns, limit=2)
    assert names(first.items) == ["p0", "p1"] and first.continue_token
    second = http.list("pods", ns, limit=10, continue_token=first.continue_token)
    assert names(second.items) == ["p2", "p3", "p4"] and not second.continue_token


def test_stale_update_is_a_conflict_and_status_only_changes_through_status(http, ns):
    d = http.create(deployment(), ns)
    fresh = json.loads(json.dumps(d))
    fresh["spec"]["replicas"] = 5
    fresh["status"] = {"replicas": 99}
    updated = http.update(fresh)
    assert updated["spec"]["replicas"] == 5 and updated["metadata"]["generation"] == 2
    assert updated["status"].get("replicas") is None
    stale = json.loads(json.dumps(d))
    stale["spec"]["replicas"] = 1
    with pytest.raises(errors.Conflict) as e:
        http.update(stale)
    assert e.value.code == 409 and e.value.message == (
        'Operation cannot be fulfilled on deployments.apps "web": the object has been '
        'modified; please apply your changes to the latest version and try again')
    updated["status"] = {"replicas": 4, "observedGeneration": 2}
    updated["spec"]["replicas"] = 10
    after = http.update_status(updated)
    assert after["status"]["replicas"] == 4 and after["spec"]["replicas"] == 5


def test_errors_arrive_typed_and_identical_to_the_in_process_client(http_server, http, ns):
    """Each failing call, once through the pipeline directly and once over HTTP: the
    same class, message, details and validation causes."""
    local = InProcessClient(http_server.api)
    http.create(deployment("dup"), ns)
    calls = [
        lambda c: c.create(deployment("dup"), ns),                       # AlreadyExists
        lambda c: c.get("deployments", "nope", ns),                      # NotFound
        lambda c: c.create(deployment("bad", replicas=-1), ns),          # Invalid
        lambda c: c.create(pod("x"), "missing-namespace"),               # NotFound
        lambda c: c.list("pods", ns, field_selector="spec.bogus=1"),     # BadRequest
        lambda c: c.delete("namespaces", "default"),                     # Forbidden
        lambda c: c.get("pods", "x"),                                    # no namespace
    ]
    for call in calls:
        with pytest.raises(errors.APIError) as want:
            call(local)
        with pytest.raises(errors.APIError) as got:
            call(http)
        w, g = want.value, got.value
        assert (type(g), g.code, g.message, g.kind, g.name, g.group, g.causes) == \
            (type(w), w.code, w.message, w.kind, w.name, w.group, w.causes)
    with pytest.raises(errors.Invalid) as e:
        http.create(deployment("bad", replicas=-1), ns)
    assert any(c.field == "spec.replicas" and c.reason == "FieldValueInvalid"
               for c in e.value.causes)
    with pytest.raises(errors.NotFound):
        http.get("deployments", "bad", ns)          # nothing was written


def test_generate_name_and_dry_run(http, ns):
    p = pod()
    del p["metadata"]["name"]
    p["metadata"]["generateName"] = "web-"
    a, b = http.create(p, ns), http.create(p, ns)
    assert a["metadata"]["name"].startswith("web-") and len(a["metadata"]["name"]) == 9
    assert a["metadata"]["name"] != b["metadata"]["name"]
    dry = http.create(pod("ghost"), ns, dry_run=True)
    assert dry["metadata"]["name"] == "ghost"
    with pytest.raises(errors.NotFound):
        http.get("pods", "ghost", ns)


def test_patch_with_every_patch_type(http, ns):
    http.create(deployment(), ns)
    http.patch("deployments", "web", {"metadata": {"labels": {"x": "y"}}}, ns)
    http.patch("deployments", "web", {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "web"}],
        "containers": [{"name": "web", "image": "minik8s/hello:v2"}]}}}}, ns,
        patch_type="strategic")
    d = http.patch("deployments", "web", [{"op": "replace", "path": "/spec/replicas",
                                           "value": 7}], ns, patch_type="json")
    assert d["metadata"]["labels"] == {"app": "web", "x": "y"}
    [c] = d["spec"]["template"]["spec"]["containers"]
    assert c["image"] == "minik8s/hello:v2" and d["spec"]["replicas"] == 7
    assert d["metadata"]["generation"] == 3
    # Server-side apply creates what is missing.
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "applied"},
          "data": {"k": "v"}}
    assert http.patch("configmaps", "applied", cm, ns, patch_type="apply")["data"] == {"k": "v"}
    assert http.get("configmaps", "applied", ns)["data"] == {"k": "v"}
    with pytest.raises(errors.UnsupportedMediaType):
        http.patch("configmaps", "applied", {}, ns, patch_type="yaml")


def test_delete_options_travel_in_the_body(http, ns):
    d = http.create(deployment("pre"), ns)
    with pytest.raises(errors.Conflict):
        http.delete("deployments", "pre", ns, preconditions={"uid": "other"})
    http.delete("deployments", "pre", ns, preconditions={"uid": d["metadata"]["uid"]})
    http.create(deployment("fg"), ns)
    http.create(deployment("or"), ns)
    fg = http.delete("deployments", "fg", ns, propagation_policy="Foreground")
    orph = http.delete("deployments", "or", ns, propagation_policy="Orphan")
    assert fg["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert orph["metadata"]["finalizers"] == ["orphan"]
    assert fg["metadata"]["deletionTimestamp"]
    http.create(pod("kept"), ns)
    http.delete("pods", "kept", ns, dry_run=True)
    assert http.get("pods", "kept", ns)


def test_bound_pods_are_deleted_gracefully(http, ns):
    http.create(pod("bound", node="n1"), ns)
    marked = http.delete("pods", "bound", ns)
    assert marked["metadata"]["deletionGracePeriodSeconds"] == 30
    assert http.get("pods", "bound", ns)["metadata"]["deletionTimestamp"]
    http.delete("pods", "bound", ns, grace_period_seconds=0)    # what the kubelet does
    with pytest.raises(errors.NotFound):
        http.get("pods", "bound", ns)


def test_cluster_scoped_objects_ignore_the_namespace(http, ns):
    name = ns + "-n"
    node = http.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}, ns)
    assert "namespace" not in node["metadata"] and node["spec"]["podCIDR"]
    assert http.get("nodes", name)["metadata"]["uid"] == node["metadata"]["uid"]
    assert name in names(http.list("nodes").items)
    http.delete("no", name)
    with pytest.raises(errors.NotFound):
        http.get("nodes", name)


def test_scale_subresource(http, ns):
    http.create(deployment(), ns)
    scale = http.get_scale("deployments", "web", ns)
    assert scale["kind"] == "Scale" and scale["apiVersion"] == "autoscaling/v1"
    assert scale["spec"] == {"replicas": 2} and scale["status"]["selector"] == "app=web"
    assert http.scale("deployments", "web", ns, 5)["spec"]["replicas"] == 5
    assert http.get("deployments", "web", ns)["spec"]["replicas"] == 5
    with pytest.raises(errors.Invalid):
        http.scale("deployments", "web", ns, -1)


def test_binding_sets_the_node_once(http, ns):
    p = http.create(pod(), ns)
    assert http.bind(ns, "p", "n1", pod_uid=p["metadata"]["uid"]) is None
    assert http.get("pods", "p", ns)["spec"]["nodeName"] == "n1"
    with pytest.raises(errors.Conflict) as e:
        http.bind(ns, "p", "n2")
    assert 'already assigned to node "n1"' in e.value.message


def test_eviction_deletes_the_pod(http, ns):
    http.create(pod(), ns)
    assert http.evict(ns, "p") is None
    with pytest.raises(errors.NotFound):
        http.get("pods", "p", ns)


def test_log_is_text_from_the_kubelet_proxy(http, own):
    c = HTTPClient(own.url)
    c.create(pod("unbound"))
    with pytest.raises(errors.BadRequest) as e:
        c.log("default", "unbound")
    assert e.value.message == "pod unbound does not have a host assigned"
    c.create(pod("logged", node="n1"))
    text = c.log("default", "logged", container="c", tail_lines=2, previous=True)
    assert text.startswith("log of logged ")
    assert json.loads(text[len("log of logged "):]) == {
        "container": "c", "tailLines": 2, "previous": True, "follow": False,
        "timestamps": False, "sinceSeconds": None, "limitBytes": None}


# --- watches ----------------------------------------------------------------------------

def test_watch_sees_added_modified_deleted_in_order_through_its_selector(http, ns):
    start = http.list("pods", ns).resource_version
    w_all = http.watch("pods", ns, resource_version=start)
    w_web = http.watch("pods", ns, resource_version=start, label_selector="app=web")
    assert w_all.poll() == [] and not w_all.closed
    http.create(pod("a", {"app": "web"}), ns)
    http.patch("pods", "a", {"metadata": {"labels": {"app": "db"}}}, ns)
    http.patch("pods", "a", {"metadata": {"labels": {"app": "web"}}}, ns)
    http.delete("pods", "a", ns)
    assert [e.type for e in collect(w_all, 4)] == ["ADDED", "MODIFIED", "MODIFIED", "DELETED"]
    assert [e.type for e in collect(w_web, 4)] == ["ADDED", "DELETED", "ADDED", "DELETED"]
    w_all.close()
    w_web.close()


def test_watch_without_resource_version_starts_with_the_current_objects(http, ns):
    http.create(pod("b"), ns)
    fresh = http.watch("pods", ns)
    assert [(e.type, e.object["metadata"]["name"]) for e in collect(fresh, 1)] == [
        ("ADDED", "b")]
    fresh.close()


def test_watch_resumes_from_a_resource_version_without_gap(http, ns):
    rv = http.create(pod("a"), ns)["metadata"]["resourceVersion"]
    http.create(pod("b"), ns)
    http.create(pod("c"), ns)
    resumed = http.watch("pods", ns, resource_version=rv)
    assert names(e.object for e in collect(resumed, 2)) == ["b", "c"]
    resumed.close()


def test_close_ends_the_reader_thread_and_the_stream(http, ns):
    w = http.watch("pods", ns, allow_bookmarks=True, timeout_seconds=60)
    w.close()
    w._thread.join(WAIT)
    assert not w._thread.is_alive() and w.closed and w.poll() == []
    assert w.wait(0.01) == []


def test_watch_of_a_compacted_revision_gets_410_then_closes(own):
    c = HTTPClient(own.url)
    rv = c.create(pod("old"))["metadata"]["resourceVersion"]
    c.create(pod("new"))
    c.create(pod("newer"))      # history from rv+1 on is now needed, and compacted away
    own.api.store.compact(own.api.store.revision)
    gone = c.watch("pods", "default", resource_version=rv)
    [ev] = collect(gone, 1)
    assert ev.type == "ERROR" and ev.object["code"] == 410 and ev.object["reason"] == "Expired"
    assert gone.wait(WAIT) == [] and gone.closed       # the server ended the stream
    local = InProcessClient(own.api).watch("pods", "default", resource_version=rv)
    assert local.poll() == [ev]                         # exactly what the pipeline says


def test_watch_with_a_bad_selector_raises_like_the_in_process_client(http, ns):
    with pytest.raises(errors.BadRequest):
        http.watch("pods", ns, field_selector="spec.bogus=1")


def test_a_watch_refused_with_410_is_one_error_event_other_refusals_raise(canned):
    c = HTTPClient(canned.url)
    status = errors.Gone("too old resource version: 5 (9)").to_status()
    canned.answer = (410, "application/json", json.dumps(status))
    w = c.watch("pods", "default", resource_version="5")
    assert w.poll() == [WatchEvent(ERROR, status)] and w.closed
    canned.answer = (403, "application/json", json.dumps(errors.Forbidden("no").to_status()))
    with pytest.raises(errors.Forbidden):
        c.watch("pods", "default")


def test_answers_that_are_not_json_are_errors(canned):
    c = HTTPClient(canned.url)
    canned.answer = (502, "text/html", "<html>Bad Gateway</html>")
    with pytest.raises(errors.APIError) as e:
        c.get("pods", "p", "default")
    assert e.value.code == 502 and "Bad Gateway" in e.value.message
    canned.answer = (200, "text/plain", "not json")
    with pytest.raises(errors.InternalError):
        c.get("pods", "p", "default")


def test_informer_over_http_syncs_and_follows_changes(http, ns):
    http.create(pod("before"), ns)
    inf = Informer(http, "pods", ns, clock=RealClock())
    inf.poll_interval = 0.05
    seen = {"add": threading.Event(), "update": threading.Event(), "delete": threading.Event()}
    inf.add_handler(
        on_add=lambda o: o["metadata"]["name"] == "after" and seen["add"].set(),
        on_update=lambda old, new: new["metadata"]["labels"].get("v") == "2" and
        seen["update"].set(),
        on_delete=lambda o: o["metadata"]["name"] == "after" and seen["delete"].set())
    inf.step()
    assert inf.has_synced() and inf.keys() == [f"{ns}/before"]
    stop = threading.Event()
    runner = threading.Thread(target=inf.run, args=(stop,), daemon=True)
    runner.start()
    try:
        http.create(pod("after"), ns)
        assert seen["add"].wait(WAIT)
        http.patch("pods", "after", {"metadata": {"labels": {"v": "2"}}}, ns)
        assert seen["update"].wait(WAIT)
        assert inf.get(f"{ns}/after")["metadata"]["labels"] == {"v": "2"}
        http.delete("pods", "after", ns)
        assert seen["delete"].wait(WAIT)
        assert inf.get(f"{ns}/after") is None and inf.relists == 1
    finally:
        stop.set()
        runner.join(WAIT)
    assert not runner.is_alive()


def test_recording_client_wraps_the_http_client(http, ns):
    rec = RecordingClient(http)
    assert isinstance(rec, Client)
    rec.create(pod("r"), ns)
    rec.get("po", "r", ns)
    rec.bind(ns, "r", "n1")
    assert [(a.verb, a.resource, a.name, a.subresource) for a in rec.actions] == [
        ("create", "pods", "r", ""), ("get", "pods", "r", ""),
        ("create", "pods", "r", "binding")]
    assert rec.server == http.server        # anything else reaches the wrapped client


# --- the connection -----------------------------------------------------------------------

def test_an_unreachable_server_is_service_unavailable_and_retriable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]          # free, and nothing listens on it
    c = HTTPClient(f"http://127.0.0.1:{port}", timeout=2)
    for call in (lambda: c.get("pods", "p", "default"), lambda: c.watch("pods")):
        with pytest.raises(errors.ServiceUnavailable) as e:
            call()
        assert errors.is_retriable(e.value) and f"127.0.0.1:{port}" in e.value.message


def test_answers_without_a_status_body_are_typed_by_their_code():
    err = error_from(502, "<html>Bad Gateway</html>")
    assert type(err) is errors.APIError and err.code == 502 and "Bad Gateway" in err.message
    assert isinstance(error_from(404, ""), errors.NotFound)
    throttled = error_from(429, "", retry_after="3")
    assert isinstance(throttled, errors.TooManyRequests) and throttled.retry_after == 3
    status = errors.Conflict("stale", kind="pods", name="p").to_status()
    assert repr(error_from(409, json.dumps(status))) == "Conflict('stale')"


def test_the_token_is_sent_as_a_bearer_token(own):
    HTTPClient(own.url, token="s3cret").get("namespaces", "default")
    assert own.tokens[-1] == "s3cret"
    with pytest.raises(errors.Unauthorized):
        HTTPClient(own.url, token="bad").list("pods")


# --- kubeconfig ---------------------------------------------------------------------------

def write(path, doc):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def config(current, clusters=(), users=(), contexts=()):
    return {"apiVersion": "v1", "kind": "Config", "current-context": current,
            "clusters": [{"name": n, "cluster": {"server": s}} for n, s in clusters],
            "users": [{"name": n, "user": u} for n, u in users],
            "contexts": [{"name": n, "context": c} for n, c in contexts]}


def test_from_kubeconfig_reaches_the_server(kubeconfig):
    c = HTTPClient.from_kubeconfig(kubeconfig)
    assert c.namespace == "default" and c.config.context == "minik8s"
    assert c.get("namespaces", "default")["metadata"]["name"] == "default"


def test_load_reads_the_current_context_namespace_and_token(tmp_path):
    (tmp_path / "tokens").mkdir()
    (tmp_path / "tokens" / "t").write_text("from-file\n")
    path = write(tmp_path / "config", config(
        "dev", clusters=[("c1", "http://127.0.0.1:1/")],
        users=[("u1", {"token": "abc"}), ("u2", {"tokenFile": "tokens/t"})],
        contexts=[("dev", {"cluster": "c1", "user": "u1", "namespace": "team"}),
                  ("ops", {"cluster": "c1", "user": "u2"})]))
    cfg = kubeconfig.load(path)
    assert (cfg.server, cfg.token, cfg.namespace, cfg.context, cfg.cluster, cfg.user) == (
        "http://127.0.0.1:1", "abc", "team", "dev", "c1", "u1")
    ops = kubeconfig.load(path, context="ops")
    assert ops.token == "from-file" and ops.namespace == "default"   # relative to the file


def test_kubeconfig_env_merges_files_first_one_wins(tmp_path, monkeypatch):
    a = write(tmp_path / "a", config("one", clusters=[("shared", "http://a:1")],
                                     contexts=[("one", {"cluster": "shared"})]))
    b = write(tmp_path / "b", config("two", clusters=[("shared", "http://b:2"),
                                                      ("own", "http://b:3")],
                                     users=[("bob", {"token": "t"})],
                                     contexts=[("one", {"cluster": "own"}),
                                               ("two", {"cluster": "own", "user": "bob"})]))
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([a, str(tmp_path / "missing"), b]))
    cfg = kubeconfig.load()
    assert (cfg.context, cfg.cluster, cfg.server) == ("one", "shared", "http://a:1")
    two = kubeconfig.load(context="two")
    assert (two.server, two.token) == ("http://b:3", "t")
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([b, a]))
    assert kubeconfig.load().server == "http://b:3"


def test_default_kubeconfig_is_in_the_home_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(KubeconfigError, match="no kubeconfig found"):
        kubeconfig.load()
    write(tmp_path / ".kube" / "config", config("x", clusters=[("x", "http://h:1")],
                                                contexts=[("x", {"cluster": "x"})]))
    assert kubeconfig.load().server == "http://h:1"


def test_unusable_kubeconfigs_are_clear_value_errors(tmp_path):
    path = write(tmp_path / "config", config(
        "", clusters=[("c", "http://h:1"), ("empty", "")],
        contexts=[("nocluster", {"cluster": "gone"}), ("nouser", {"cluster": "c", "user": "x"}),
                  ("noserver", {"cluster": "empty"})]))
    cases = [((str(tmp_path / "nope"), None), "no such file"),
             ((path, None), "current-context is not set"),
             ((path, "missing"), 'context "missing" does not exist'),
             ((path, "nocluster"), 'cluster "gone" was not found for context "nocluster"'),
             ((path, "nouser"), 'user "x" was not found for context "nouser"'),
             ((path, "noserver"), 'cluster "empty" has no server defined')]
    for args, message in cases:
        with pytest.raises(ValueError, match=message) as e:
            kubeconfig.load(*args)
        assert isinstance(e.value, KubeconfigError)
    (tmp_path / "broken").write_text("clusters: [")
    with pytest.raises(KubeconfigError, match="not valid YAML"):
        kubeconfig.load(str(tmp_path / "broken"))


def test_merge_context_adds_its_entries_keeps_the_rest_and_is_private(tmp_path):
    path = tmp_path / "new-dir" / "config"
    merge_context(str(path), name="minik8s", server="http://127.0.0.1:6443", token="tok")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    cfg = kubeconfig.load(str(path))
    assert (cfg.context, cfg.server, cfg.token, cfg.namespace) == (
        "minik8s", "http://127.0.0.1:6443", "tok", "default")
    other = config("prod", clusters=[("prod", "https://prod:443")],
                   users=[("admin", {"token": "p"})],
                   contexts=[("prod", {"cluster": "prod", "user": "admin"})])
    other["preferences"] = {"colors": True}
    write(path, other)
    merge_context(str(path), name="minik8s", server="http://127.0.0.1:7000", namespace="lab")
    merge_context(str(path), name="minik8s", server="http://127.0.0.1:7001", set_current=False)
    doc = yaml.safe_load(path.read_text())
    assert doc["current-context"] == "minik8s" and doc["preferences"] == {"colors": True}
    assert [c["name"] for c in doc["clusters"]] == ["prod", "minik8s"]   # replaced, not added
    assert kubeconfig.load(str(path), "prod").token == "p"
    mine = kubeconfig.load(str(path))
    assert (mine.server, mine.token) == ("http://127.0.0.1:7001", "")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert sorted(os.listdir(path.parent)) == ["config"]     # no temporary file left over


def test_remove_context_removes_its_entries_and_unsets_current(tmp_path):
    path = str(tmp_path / "config")
    merge_context(path, name="keep", server="http://k:1")
    merge_context(path, name="minik8s", server="http://m:1")
    assert remove_context(path, "minik8s") is True
    doc = yaml.safe_load(open(path))
    assert doc["current-context"] == ""
    assert [e["name"] for s in ("clusters", "users", "contexts") for e in doc[s]] == ["keep"] * 3
    assert kubeconfig.load(path, "keep").server == "http://k:1"
    assert remove_context(path, "minik8s") is False
    assert remove_context(str(tmp_path / "none"), "minik8s") is False


def test_real_kubectl_reads_a_merged_kubeconfig(http_server, kubectl, tmp_path):
    path = str(tmp_path / "config")
    merge_context(path, name="other", server="http://127.0.0.1:1")
    merge_context(path, name="minik8s-test", server=http_server.url, namespace="kube-system")
    out = kubectl("--kubeconfig", path, "get", "namespace", "kube-system", "-o", "name")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "namespace/kube-system"
    view = kubectl("--kubeconfig", path, "config", "view", "-o", "json")
    assert json.loads(view.stdout)["current-context"] == "minik8s-test"
