"""Every manifest in examples/ is accepted by the API server as it stands."""
import pathlib

import pytest
import yaml

EXAMPLES = sorted((pathlib.Path(__file__).resolve().parent.parent / "examples").glob("*.yaml"))


def test_there_are_examples():
    assert len(EXAMPLES) >= 6


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_applies(client, path):
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    assert docs
    for doc in docs:
        created = client.create(doc)
        assert created["metadata"]["uid"]
        assert created["kind"] == doc["kind"]
