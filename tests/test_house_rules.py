"""House rules that keep minik8s readable, checked on every run."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODULES = sorted((ROOT / "minik8s").rglob("*.py"))


def test_there_are_modules_to_check():
    assert len(MODULES) > 10


def test_every_module_reads_in_one_sitting():
    too_long = {str(p.relative_to(ROOT)): n for p in MODULES
                if (n := len(p.read_text().splitlines())) > 400}
    assert too_long == {}, f"modules over 400 lines: {too_long}"


def test_every_module_opens_with_a_docstring():
    missing = [str(p.relative_to(ROOT)) for p in MODULES
               if not re.match(r'\s*(#.*\n)*\s*[rb]?"""', p.read_text())]
    assert missing == []


def test_nothing_reads_the_wall_clock_or_sleeps_outside_the_clock_module():
    offenders = []
    for p in MODULES:
        if p.name == "clock.py":
            continue
        for i, line in enumerate(p.read_text().splitlines(), 1):
            if re.search(r"\btime\.(time|sleep|monotonic)\(", line):
                offenders.append(f"{p.relative_to(ROOT)}:{i}")
    assert offenders == []


def test_the_api_server_never_imports_ray_and_layers_point_down():
    # api and store are the bottom: they import no higher layer.
    for p in MODULES:
        text = p.read_text()
        rel = p.relative_to(ROOT / "minik8s").parts[0]
        if rel in ("api", "store"):
            assert not re.search(r"from minik8s\.(apiserver|client|cli)|import ray", text), p
        if rel == "apiserver":
            assert not re.search(r"from minik8s\.(client|cli)|import ray", text), p
