"""The event recorder writes and aggregates Events as client-go's recorder does."""
import re

from minik8s.api.errors import InternalError
from minik8s.api.meta import rfc3339
from minik8s.client.events import EventRecorder
from minik8s.client.wrappers import FaultClient


def make_cm(client, name="web"):
    return client.create({"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"name": name, "namespace": "default"}, "data": {}})


def events(client, ns="default"):
    return client.list("events", ns).items


def test_event_is_created_like_kubernetes_does(client, clock):
    obj = make_cm(client)
    rec = EventRecorder(client, clock, "my-controller", host="node-1")
    ev = rec.event(obj, "Normal", "Synced", "synced successfully")
    [stored] = events(client)
    assert stored["metadata"]["name"] == ev["metadata"]["name"]
    assert stored["metadata"]["name"] == f"web.{int(clock.now() * 1e9):016x}"
    assert re.fullmatch(r"web\.[0-9a-f]{16}", stored["metadata"]["name"])
    assert stored["metadata"]["namespace"] == "default"
    assert stored["involvedObject"] == {
        "apiVersion": "v1", "kind": "ConfigMap", "name": "web", "namespace": "default",
        "uid": obj["metadata"]["uid"], "resourceVersion": obj["metadata"]["resourceVersion"]}
    assert (stored["type"], stored["reason"], stored["message"]) == \
        ("Normal", "Synced", "synced successfully")
    assert stored["count"] == 1
    assert stored["firstTimestamp"] == stored["lastTimestamp"] == rfc3339(clock.now())
    assert stored["source"] == {"component": "my-controller", "host": "node-1"}
    assert stored["reportingComponent"] == "my-controller"
    assert stored["reportingInstance"] == "node-1"
    assert rec.errors == 0


def test_identical_event_is_counted_not_duplicated(client, clock):
    obj = make_cm(client)
    rec = EventRecorder(client, clock, "ctl")
    first = rec.event(obj, "Warning", "FailedSync", "boom")
    t0 = rfc3339(clock.now())
    clock.advance(42)
    rec.event(obj, "Warning", "FailedSync", "boom")
    clock.advance(8)
    rec.event(obj, "Warning", "FailedSync", "boom")
    [stored] = events(client)
    assert stored["metadata"]["name"] == first["metadata"]["name"]
    assert stored["count"] == 3
    assert stored["firstTimestamp"] == t0
    assert stored["lastTimestamp"] == rfc3339(clock.now())


def test_different_message_type_or_object_makes_a_new_event(client, clock):
    a, b = make_cm(client, "a"), make_cm(client, "b")
    rec = EventRecorder(client, clock, "ctl")
    rec.event(a, "Warning", "FailedSync", "boom")
    rec.event(a, "Warning", "FailedSync", "bang")
    rec.event(a, "Normal", "FailedSync", "boom")
    rec.event(b, "Warning", "FailedSync", "boom")
    evs = events(client)
    assert len(evs) == 4 and {e["count"] for e in evs} == {1}
    assert len({e["metadata"]["name"] for e in evs}) == 4     # same instant, unique names


def test_two_recorders_at_the_same_instant_do_not_collide(client, clock):
    obj = make_cm(client)
    EventRecorder(client, clock, "scheduler").event(obj, "Normal", "Scheduled", "x")
    rec = EventRecorder(client, clock, "kubelet")
    rec.event(obj, "Normal", "Pulled", "y")
    assert len(events(client)) == 2 and rec.errors == 0


def test_cluster_scoped_objects_get_events_in_default(client, clock):
    ns = client.get("namespaces", "kube-public")
    EventRecorder(client, clock, "ctl").event(ns, "Normal", "Hello", "hi")
    [ev] = events(client, "default")
    assert ev["involvedObject"]["kind"] == "Namespace"
    assert ev["involvedObject"]["name"] == "kube-public"
    assert "namespace" not in ev["involvedObject"]


def test_deleted_event_is_created_again_with_its_count(client, clock):
    obj = make_cm(client)
    rec = EventRecorder(client, clock, "ctl")
    first = rec.event(obj, "Normal", "Synced", "ok")
    client.delete("events", first["metadata"]["name"], "default")
    clock.advance(5)
    rec.event(obj, "Normal", "Synced", "ok")
    [ev] = events(client)
    assert ev["metadata"]["name"] == first["metadata"]["name"]
    assert ev["count"] == 2
    assert ev["firstTimestamp"] == first["firstTimestamp"]
    assert ev["lastTimestamp"] == rfc3339(clock.now())
    assert rec.errors == 0


def test_lru_forgets_old_events(client, clock):
    obj = make_cm(client)
    rec = EventRecorder(client, clock, "ctl", cache_size=1)
    rec.event(obj, "Normal", "A", "a")
    rec.event(obj, "Normal", "B", "b")      # pushes A out of the cache
    rec.event(obj, "Normal", "A", "a")      # so this one is a new Event
    rec.event(obj, "Normal", "A", "a")      # and this one counts on it
    counts = sorted((e["reason"], e["count"]) for e in events(client))
    assert counts == [("A", 1), ("A", 2), ("B", 1)]


def test_recording_errors_are_swallowed_and_counted(client, clock):
    obj = make_cm(client)
    fault = FaultClient(client)
    rec = EventRecorder(fault, clock, "ctl")
    fault.fail_next(1, InternalError, verbs="create", resource="events")
    assert rec.event(obj, "Normal", "Synced", "ok") is None
    assert rec.errors == 1 and isinstance(rec.last_error, InternalError)
    assert events(client) == []
    assert rec.event(obj, "Normal", "Synced", "ok")["count"] == 1   # not cached as written
    fault.fail_next(1, InternalError, verbs="patch")
    assert rec.event(obj, "Normal", "Synced", "ok") is None
    assert rec.errors == 2
    assert rec.event(obj, "Normal", "Synced", "ok")["count"] == 2


def test_unknown_event_type_is_rejected_without_raising(client, clock):
    obj = make_cm(client)
    rec = EventRecorder(client, clock, "ctl")
    assert rec.event(obj, "Critical", "Oops", "x") is None
    assert rec.errors == 1 and events(client) == []
