"""Shared fixtures. Real data comes from ../shared/data (or C3BENCH_TEST_DATA).

With CI=true a test that needs the data fails when it is missing; elsewhere it skips and says how
to get it.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("C3BENCH_TEST_DATA", REPO.parent / "shared" / "data"))


def pytest_configure(config) -> None:
    """Tests never write what a user's c3bench keeps between runs: the calibration rates a dry run
    estimates from (a 3-second test run would teach the user's machine a wrong speed) go to a folder of
    this session. The preprocessed-tensor cache stays shared: it is keyed by content."""
    import tempfile

    from c3bench.data.root import ENV_CACHE, tensor_cache_dir

    os.environ.setdefault(ENV_CACHE, str(tensor_cache_dir()))
    os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="c3bench-tests-cache-")


def require_data(*relative: str) -> Path:
    """Return the shared data root, failing (CI) or skipping (elsewhere) when files are missing."""
    missing = [r for r in relative if not (SHARED_DATA / r).exists()]
    if not SHARED_DATA.is_dir() or missing:
        msg = (f"real data missing under {SHARED_DATA}: {', '.join(missing) or 'the folder itself'}. "
               "Put the shared data folder beside the repository (../shared/data) or set C3BENCH_TEST_DATA.")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return SHARED_DATA


def _torch_threads(n: int):
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for the module's tests: tiny models gain nothing from a second thread, and on
    a shared 2-core machine OpenMP waiting makes each step many times slower."""
    yield from _torch_threads(1)


@pytest.fixture
def exactly_one_thread():
    """One torch thread for this test, whatever tests before it left (``--flush-denormal`` requires it)."""
    yield from _torch_threads(1)


@pytest.fixture
def isolated_data_env(tmp_path, monkeypatch) -> Path:
    """No c3bench environment overrides, downloads off, and the per-user cache dir inside tmp_path."""
    for name in ("C3BENCH_DATA", "C3BENCH_CACHE", "C3BENCH_MIRROR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("C3BENCH_OFFLINE", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path


@pytest.fixture
def data_root() -> Path:
    return require_data()


@pytest.fixture
def results_dir(tmp_path: Path) -> Path:
    return tmp_path / "results"


def _data_helpers(module) -> set[str]:
    """Names of a test module's functions that call require_data (directly)."""
    names = {"require_data"}
    for name, obj in vars(module).items():
        if inspect.isfunction(obj) and obj.__module__ == module.__name__:
            try:
                if "require_data(" in inspect.getsource(obj):
                    names.add(name)
            except (OSError, TypeError):
                continue
    return names


def _uses_real_data(item: pytest.Item) -> bool:
    """Whether a test reads ../shared/data: it takes the data_root fixture, or it or one of its fixtures
    calls require_data or a helper of its module that does."""
    if "data_root" in getattr(item, "fixturenames", ()):
        return True
    module = getattr(item, "module", None)
    helpers = _data_helpers(module) if module is not None else {"require_data"}
    functions = [getattr(item, "function", None)]
    info = getattr(item, "_fixtureinfo", None)
    if info is not None:
        functions += [d.func for defs in info.name2fixturedefs.values() for d in defs]
    for fn in functions:
        try:
            source = inspect.getsource(fn) if fn is not None else ""
        except (OSError, TypeError):
            continue
        if any(f"{name}(" in source for name in helpers):
            return True
    return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that reads the real data ``data``, so `-m "not data"` runs without it."""
    for item in items:
        if _uses_real_data(item):
            item.add_marker(pytest.mark.data)
