"""The data layer reports progress through a callback, and never prints or draws by itself."""

from __future__ import annotations

import ast
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import c3bench.data
from c3bench.data import progress
from c3bench.data.datasets import load_image_folder


@pytest.fixture
def isolated(tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv("C3BENCH_CACHE", raising=False)
    monkeypatch.setenv("C3BENCH_OFFLINE", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path


def _folder(root: Path, per_class: int = 150) -> Path:
    rng = np.random.default_rng(0)
    for cls in ("cat", "dog"):
        (root / cls).mkdir(parents=True)
        for i in range(per_class):
            buffer = io.BytesIO()
            Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(buffer, format="PNG")
            (root / cls / f"{i}.png").write_bytes(buffer.getvalue())
    return root


def test_a_load_reports_its_stages_in_order_and_a_cached_load_only_the_cache(isolated, capfd):
    folder = _folder(isolated / "pets")
    events: list[progress.Event] = []
    with progress.reporting(events.append):
        load_image_folder(folder, name="pets")
    stages = [e.stage for e in events]
    assert stages[0] == "reading" and stages[-1] == "building cache"
    decoding = [e for e in events if e.stage == "decoding"]
    assert decoding[0].done == 0 and decoding[-1].done == decoding[-1].total == 300
    assert decoding[-1].unit == "images" and decoding[-1].subject == "pets"
    assert 3 <= len(decoding) <= 103  # throttled: about a hundred reports at most
    assert all(e.dataset == "pets" for e in events)
    assert [(e.stage, e.done) for e in events if not e.unit] == [
        ("reading", 0), ("reading", 1), ("building cache", 0), ("building cache", 1)]
    events.clear()
    with progress.reporting(events.append):
        assert load_image_folder(folder, name="pets").cache_hit
    assert [(e.stage, e.subject, e.done, e.total) for e in events] == [
        ("loading cache", "pets", 0, 1), ("loading cache", "pets", 1, 1)]
    assert capfd.readouterr() == ("", "")


def test_reporting_nests_and_none_silences(isolated):
    outer: list[progress.Event] = []
    inner: list[progress.Event] = []
    with progress.reporting(outer.append):
        progress.report("reading", "a")
        with progress.reporting(inner.append):
            progress.report("reading", "b")
        with progress.reporting(None):
            progress.report("reading", "c")
            assert not progress.active()
        progress.report("reading", "d")
    progress.report("reading", "e")  # nobody listens: nothing happens
    assert [e.subject for e in outer] == ["a", "d"] and [e.subject for e in inner] == ["b"]


def test_a_counter_of_unknown_total_ends_with_its_count():
    events: list[progress.Event] = []
    with progress.reporting(events.append):
        counter = progress.Counter("downloading", "f.bin", None, "bytes")
        for _ in range(5):
            counter.advance(1000)
        counter.close()
    assert events[0].done == 0 and events[0].total is None
    assert events[-1].done == events[-1].total == 5000 and events[-1].finished


def _calls_and_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        call = isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        if call and node.func.id in ("print", "input"):
            found.append(f"{path.name}:{node.lineno} {node.func.id}()")
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        drawing = [n for n in names if n.split(".")[0] in ("rich", "argparse")]
        found += [f"{path.name}:{node.lineno} import {n}" for n in drawing]
    return found


def test_nothing_in_the_data_layer_prints_or_draws():
    folder = Path(c3bench.data.__file__).parent
    assert [p.name for p in folder.glob("*.py")]  # the scan looks at the real package
    problems = [p for path in sorted(folder.glob("*.py")) for p in _calls_and_imports(path)]
    assert problems == []
