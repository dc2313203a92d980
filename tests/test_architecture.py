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
    (("c3bench/methods/*.py",), ("c3bench.runner", "c3bench.cli", "c3bench.commands", "c3bench.results", "c3bench.sweep",
                         "c3bench.leaderboard", "c3bench.console"),
     "a method reports to the runner; it knows no terminal and writes no file"),
    (("c3bench/protocols/*.py", "c3bench/data/*.py"), ("c3bench.methods", "c3bench.runner", "c3bench.cli", "c3bench.commands",
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
    (("c3bench/series.py", "c3bench/board.py", "c3bench/board_view.py", "c3bench/record_log.py", "c3bench/score.py"),
     ("torch", "matplotlib", "c3bench.plots", "c3bench.registry", "c3bench.runner"),
     "what a table or figure shows is computed from records alone; only drawing loads matplotlib"),
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


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _import_graph() -> dict[str, set[str]]:
    """Module -> the c3bench modules it imports, at any depth, type-checking imports included."""
    files = _files("c3bench/**/*.py")
    modules = {_module_name(p): p for p in files}
    graph = {}
    for name, path in modules.items():
        targets = set()
        for imported in _imports(path):
            while imported and imported not in modules:  # "c3bench.results.load_record" -> "c3bench.results"
                imported = imported.rpartition(".")[0]
            if imported and imported != name and not name.startswith(imported + "."):
                targets.add(imported)
        graph[name] = targets
    return graph


def test_no_import_cycle_among_c3benchs_modules():
    graph = _import_graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_the_registry_imports_no_kind_it_lists():
    imported = _imports(REPO / "c3bench" / "registry.py")
    assert not [m for m in imported if m.startswith("c3bench.") and m not in ("c3bench.hparams",)
                and not m.startswith("c3bench.hparams.")], imported


def test_every_split_method_subclasses_the_split_base_and_no_method_file_has_its_own_loop():
    from c3bench import registry
    from c3bench.federated import FederatedMethod
    from c3bench.split import SplitMethod

    for name in registry.METHODS.names():
        cls = registry.get_method(name)
        assert issubclass(cls, SplitMethod if cls.family == "split" else FederatedMethod), name
    for path in _files("c3bench/methods/*.py"):
        text = path.read_text(encoding="utf-8")
        assert "round_epochs(" not in text and "batch_indices(" not in text and "train_in_turns(" not in text, \
            f"{path.name} runs its own round loop; use the family's hooks"


def test_budgets_are_constructed_in_one_module():
    found = sorted(str(p.relative_to(REPO)) for p in _files("c3bench/**/*.py")
                   if "Budgets(" in p.read_text(encoding="utf-8"))
    assert [f for f in found if f != "c3bench/accounting/ledger.py"] == [], found  # Budgets.parse / from_config
