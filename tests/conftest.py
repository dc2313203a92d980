"""Shared fixtures. Real data comes from ../shared/data (or C3BENCH_TEST_DATA).

With CI=true a test that needs the data fails when it is missing; elsewhere it skips and says how
to get it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("C3BENCH_TEST_DATA", REPO.parent / "shared" / "data"))


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


@pytest.fixture
def data_root() -> Path:
    return require_data()


@pytest.fixture
def results_dir(tmp_path: Path) -> Path:
    return tmp_path / "results"
