"""The scheduler cache: assumed pods count at once, are confirmed without double
counting, forgotten when the bind fails; snapshots never change under a reader."""
import pytest

from minik8s.scheduler.cache import SchedulerCache


def node(name, cpu="4", memory="8Gi", pods="110"):
    return {"metadata": {"name": name},
            "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": pods}}}


def pod(name, cpu="500m", memory="1Gi", node_name=None, host_port=None, uid=None):
    container = {"name": "c", "image": "nginx",
                 "resources": {"requests": {"cpu": cpu, "memory": memory}}}
    if host_port:
        container["ports"] = [{"containerPort": 80, "hostPort": host_port}]
    spec = {"containers": [container]}
    if node_name:
        spec["nodeName"] = node_name
    return {"metadata": {"name": name, "namespace": "default", "uid": uid or f"uid-{name}"},
            "spec": spec}


def used(cache, name):
    ni = cache.node_info(name)
    return ni.requested.milli_cpu, ni.requested.memory // 2**30, ni.requested.pods, len(ni.pods)


@pytest.fixture
def cache():
    c = SchedulerCache()
    c.add_node(node("n1"))
    c.add_node(node("n2"))
    return c


def test_an_assumed_pod_counts_on_its_node_at_once(cache):
    assumed = cache.assume(pod("a"), "n1")
    assert assumed["spec"]["nodeName"] == "n1" and cache.is_assumed(pod("a"))
    assert used(cache, "n1") == (500, 1, 1, 1)
    assert used(cache, "n2") == (0, 0, 0, 0)


def test_the_bound_pod_from_the_informer_confirms_without_double_counting(cache):
    cache.assume(pod("a"), "n1")
    cache.finish_binding(pod("a"))
    bound = pod("a", node_name="n1")
    cache.add_pod(bound)
    assert used(cache, "n1") == (500, 1, 1, 1)
    assert not cache.is_assumed(bound) and cache.assumed_count() == 0
    assert cache.node_info("n1").pods == [bound]          # the informer's object now
    assert not cache.forget(bound)                        # confirmed: forget is a no-op
    assert used(cache, "n1") == (500, 1, 1, 1)


def test_a_pod_bound_elsewhere_than_assumed_moves(cache):
    cache.assume(pod("a"), "n1")
    cache.add_pod(pod("a", node_name="n2"))
    assert used(cache, "n1") == (0, 0, 0, 0) and used(cache, "n2") == (500, 1, 1, 1)


def test_forget_releases_an_assumed_pod(cache):
    cache.assume(pod("a"), "n1")
    cache.assume(pod("b", cpu="1"), "n1")
    assert cache.forget(pod("a"))
    assert used(cache, "n1") == (1000, 1, 1, 1) and not cache.is_assumed(pod("a"))
    assert cache.pod_count() == 1


def test_a_pod_cannot_be_assumed_twice(cache):
    cache.assume(pod("a"), "n1")
    with pytest.raises(ValueError, match="can't be assumed"):
        cache.assume(pod("a"), "n2")
    with pytest.raises(ValueError, match="empty UID"):
        cache.assume({"metadata": {"name": "x"}, "spec": {}}, "n1")


def test_remove_and_update_pod_keep_the_sums_right(cache):
    cache.add_pod(pod("a", node_name="n1"))
    cache.add_pod(pod("b", node_name="n1", cpu="1", memory="2Gi"))
    assert used(cache, "n1") == (1500, 3, 2, 2)
    cache.update_pod(pod("b", node_name="n1", cpu="2", memory="2Gi"))   # resized
    assert used(cache, "n1") == (2500, 3, 2, 2)
    cache.update_pod(pod("b", node_name="n1", cpu="2", memory="2Gi"),
                     pod("b", node_name="n1", cpu="1", memory="2Gi"))   # (old, new)
    assert used(cache, "n1") == (1500, 3, 2, 2)
    cache.update_pod(pod("b", node_name="n1", cpu="2", memory="2Gi"))
    cache.remove_pod(pod("a", node_name="n1"))
    assert used(cache, "n1") == (2000, 2, 1, 1)
    cache.remove_pod(pod("a", node_name="n1"))                          # twice: no-op
    assert used(cache, "n1") == (2000, 2, 1, 1)


def test_unbound_pods_are_not_the_caches_business(cache):
    cache.add_pod(pod("pending"))
    assert cache.pod_count() == 0


def test_host_ports_are_tracked_per_node(cache):
    cache.add_pod(pod("a", node_name="n1", host_port=8080))
    cache.add_pod(pod("b", node_name="n1", host_port=8080, uid="uid-b"))  # bypassed the scheduler
    assert cache.node_info("n1").used_ports == {("TCP", "0.0.0.0", 8080)}
    cache.remove_pod(pod("a", node_name="n1"))
    assert cache.node_info("n1").used_ports == {("TCP", "0.0.0.0", 8080)}  # b still has it
    cache.remove_pod(pod("b", node_name="n1", uid="uid-b"))
    assert cache.node_info("n1").used_ports == set()


def test_a_removed_node_keeps_its_pods_counted_until_they_go(cache):
    cache.add_pod(pod("a", node_name="n1"))
    cache.remove_node(node("n1"))
    assert [ni.name for ni in cache.node_infos()] == ["n2"] and cache.node_info("n1") is None
    cache.add_node(node("n1"))                           # back before its pod went
    assert used(cache, "n1") == (500, 1, 1, 1)
    cache.remove_node(node("n1"))
    cache.remove_pod(pod("a", node_name="n1"))
    cache.add_node(node("n1"))
    assert used(cache, "n1") == (0, 0, 0, 0)


def test_pods_seen_before_their_node_are_counted_when_it_arrives():
    cache = SchedulerCache()
    cache.add_pod(pod("a", node_name="n9"))
    assert cache.node_infos() == []
    cache.add_node(node("n9"))
    assert used(cache, "n9") == (500, 1, 1, 1)


def test_update_node_changes_allocatable_and_keeps_pods(cache):
    cache.add_pod(pod("a", node_name="n1"))
    cache.update_node(node("n1", cpu="16"))
    ni = cache.node_info("n1")
    assert ni.allocatable.milli_cpu == 16000 and used(cache, "n1") == (500, 1, 1, 1)


def test_node_infos_are_sorted_and_a_snapshot_never_changes(cache):
    cache.add_node(node("n0"))
    before = cache.node_infos()
    assert [ni.name for ni in before] == ["n0", "n1", "n2"]
    assert cache.node_infos() is before                  # nothing changed: same list
    n1_before = before[1]
    cache.assume(pod("a"), "n1")
    after = cache.node_infos()
    assert after is not before and after[1] is not n1_before
    assert n1_before.requested.milli_cpu == 0 and n1_before.pods == []    # untouched
    assert after[1].requested.milli_cpu == 500
    assert after[0] is before[0] and after[2] is before[2]  # only what changed is new
    assert after[1].generation > n1_before.generation


def test_generations_increase_with_every_change(cache):
    g0 = cache.node_info("n1").generation
    cache.assume(pod("a"), "n1")
    g1 = cache.node_info("n1").generation
    cache.forget(pod("a"))
    g2 = cache.node_info("n1").generation
    assert g0 < g1 < g2 and cache.node_info("n2").generation < g1


def test_the_cache_knows_which_nodes_hold_pods_with_affinity(cache):
    anti = pod("a", node_name="n2")
    anti["spec"]["affinity"] = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "x"}}, "topologyKey": "kubernetes.io/hostname"}]}}
    cache.add_pod(pod("plain", node_name="n1"))
    assert cache.nodes_with_affinity_pods() == []
    cache.assume(anti, "n2")
    assert [ni.name for ni in cache.nodes_with_affinity_pods()] == ["n2"]
    cache.add_pod(anti)                       # the informer confirms: still counted once
    cache.remove_pod(anti)
    assert cache.nodes_with_affinity_pods() == []
    # The hint is the NodeInfo currently in the cache, not a stale copy.
    cache.add_pod(anti)
    cache.add_pod(pod("more", node_name="n2"))
    assert cache.nodes_with_affinity_pods() == [cache.node_info("n2")]
