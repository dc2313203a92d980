"""The import graph has the arrows of ../shared/ARCHITECTURE.md and none of the forbidden ones:
methods never import the runner, the CLI or the results writer; score, leaderboard, plots and the
web site never import methods, the runner or torch; data, accounting and protocols know no algorithm;
reading records and --help import no training stack."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth (module level or inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _files(*globs: str) -> list[Path]:
    return sorted(p for g in globs for p in REPO.glob(g))


FORBIDDEN = [
    # (files, module prefixes they must not import, why)
    (("methods/*.py",), ("c3bench.runner", "c3bench.cli", "c3bench.commands", "c3bench.results", "c3bench.sweep",
                         "c3bench.leaderboard", "c3bench.console"),
     "a method reports to the runner; it knows no terminal and writes no file"),
    (("protocols/*.py", "c3bench/data/*.py"), ("c3bench.methods", "c3bench.runner", "c3bench.cli", "c3bench.commands",
                                              "c3bench.method", "c3bench.federated", "c3bench.split", "rich"),
     "data knows no algorithm and prints nothing"),
    (("c3bench/accounting/*.py",), ("c3bench.methods", "c3bench.method", "c3bench.federated", "c3bench.split",
                                    "c3bench.runner"),
     "the ledger does not know which method it meters"),
    (("c3bench/score.py", "c3bench/conventions.py", "c3bench/plots.py", "c3bench/site.py", "c3bench/results.py"),
     ("torch", "c3bench.methods", "c3bench.runner", "c3bench.registry", "c3bench.method"),
     "score and boards read records alone"),
    (("c3bench/leaderboard.py",), ("torch", "c3bench.methods", "c3bench.runner", "c3bench.method"),
     "the board reads records and board files (provenance checks load declarations through the registry)"),
]


@pytest.mark.parametrize(("globs", "forbidden", "why"), FORBIDDEN)
def test_forbidden_arrows_are_absent(globs, forbidden, why):
    for path in _files(*globs):
        bad = sorted(m for m in _imports(path) if any(m == f or m.startswith(f + ".") for f in forbidden))
        assert not bad, f"{path.relative_to(REPO)} imports {bad}: {why}"


def _fresh(code: str) -> list[str]:
    """Modules loaded by a fresh interpreter running ``code``."""
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"],
                         capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_reading_scoring_and_help_import_no_training_stack():
    for code in ("import c3bench.cli",
                 "import c3bench.score, c3bench.leaderboard, c3bench.plots, c3bench.site, c3bench.results",
                 "from c3bench.registry import METHODS; METHODS.names()",
                 "import c3bench; c3bench.c3_score(90, 1, 1, 2, 2)"):
        loaded = _fresh(code)
        heavy = [m for m in loaded if m == "torch" or m.startswith("c3bench.methods.") or m == "c3bench.runner"]
        assert not heavy, f"`{code}` imports {heavy[:5]}"


def test_a_method_imports_no_runner_and_the_registry_imports_nothing_until_asked():
    loaded = _fresh("from c3bench.registry import get_method; get_method('fedprox')")
    assert "c3bench.methods.fedprox" in loaded and "c3bench.methods.fedavg" not in loaded  # lazy, one entry
    assert "c3bench.runner" not in loaded and "c3bench.cli" not in loaded
