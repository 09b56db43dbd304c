"""Shared fixtures: an API server pipeline over an in-memory store, under a fake clock.

Everything here is deterministic: a FakeClock that moves only when a test advances
it, and a random.Random with a fixed seed, so objects (uids, names, ClusterIPs,
timestamps) are the same on every run.
"""
import random

import pytest

from minik8s.api.clock import FakeClock
from minik8s.apiserver.server import APIServer
from minik8s.client.inprocess import InProcessClient
from minik8s.store.memory import MemoryStore


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def store():
    s = MemoryStore()
    yield s
    s.close()


@pytest.fixture
def api(store, clock):
    return APIServer(store, clock, random.Random(42))


@pytest.fixture
def client(api):
    return InProcessClient(api)
