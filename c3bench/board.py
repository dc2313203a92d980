"""A board's declaration (``leaderboards/<protocol>/board.json``) and what it implies for a configuration:
its C3 scale and budgets, which budgets an entry exceeds, the ranked score rows. Reads records and
board files only (no torch, no method)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from c3bench import strict_json
from c3bench.conventions import CONVENTIONS
from c3bench.entry_checks import NAME
from c3bench.hparams import ConfigError
from c3bench.results import totals_from_rounds
from c3bench.safe_files import LinkRefused, describe_os_error, read_own_file
from c3bench.score import C3Scale, ScoreRow, score_table

BOARD_FILE = "board.json"
ENTRIES = "entries"
README = "README.md"
FIGURE = "tradeoff.png"
PROVENANCE = ("any", "committed")
CONVENTION_TEXT = {name: c.text for name, c in CONVENTIONS.items()}
# Bmax (GB), Cmax (TFLOPs) and T each lie in this range: far wider than any real budget, and narrow enough
# that every ratio the score, the marks and the figure compute from them stays a finite number.
SCALE_RANGE = (1e-9, 1e9)
MAX_BOARD_BYTES = 2**20  # a board.json is a few kB
REPORT_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\.md$")  # a report's file name, beside README.md
FIGURE_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\.png$")  # a declared figure's, beside tradeoff.png
MAX_FIGURE_NAMES = 20  # configurations or varied hyperparameters one declared figure names
MAX_REPORT_SEEDS = 100


def check_scale(values: dict[str, Any], source: str) -> None:
    """Raise ConfigError unless each of ``values`` (name -> number) is a finite number in SCALE_RANGE."""
    low, high = SCALE_RANGE
    for name, value in values.items():
        if (not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value)
                or not low <= value <= high):
            raise ConfigError(f"{source}{name} must be a number between {low:g} and {high:g} (a score needs a "
                              f"finite ratio of cost to budget), got {value!r}.")


# ------------------------------------------------------------------------------------------ boards
@dataclass(frozen=True)
class BoardReport:
    """A report a board keeps beside its README: configuration ``config``'s side-by-side comparison with
    its source (``c3bench reproduce CONFIG --report``) over the board's entries of ``seeds``, in ``file``."""

    file: str
    config: str
    seeds: tuple[int, ...]

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "config": self.config, "seeds": list(self.seeds)}

    def command(self, board: Board) -> str:
        """The ``c3bench reproduce`` command that prints this report from the board's entries."""
        return (f"c3bench reproduce {self.config} --report --format markdown --seeds "
                f"{','.join(map(str, self.seeds))} -o leaderboards/{board.protocol}/entries")


def _reports(value: Any, source: Path) -> tuple[BoardReport, ...]:
    """Validate board.json's ``reports``: a list of {"file": "NAME.md", "config": NAME, "seeds": [int, ...]}."""
    where = f"{source}: reports"
    if not isinstance(value, list):
        raise ConfigError(f"{where}: must be a list of {{\"file\", \"config\", \"seeds\"}} objects.")
    reports: list[BoardReport] = []
    for n, item in enumerate(value):
        if not isinstance(item, dict) or set(item) != {"file", "config", "seeds"}:
            raise ConfigError(f"{where}[{n}]: must be an object with exactly the keys file, config and seeds.")
        file, config, seeds = item["file"], item["config"], item["seeds"]
        if not isinstance(file, str) or not REPORT_FILE.fullmatch(file) or file.casefold() == README.casefold():
            raise ConfigError(f"{where}[{n}].file: must be a file name such as REPRODUCTION.md (letters, digits, '_', "
                              f"'-', then .md; not {README}), got {file!r}.")
        if file.casefold() in {r.file.casefold() for r in reports}:  # one file where names ignore case
            raise ConfigError(f"{where}[{n}].file: {file} is declared twice.")
        if not isinstance(config, str) or not NAME.fullmatch(config) or config.endswith(".toml"):
            raise ConfigError(f"{where}[{n}].config: must name a configuration (see `c3bench reproduce --list`), "
                              f"got {config!r}.")
        if (not isinstance(seeds, list) or not 0 < len(seeds) <= MAX_REPORT_SEEDS
                or not all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s < 2**31 for s in seeds)
                or len(set(seeds)) != len(seeds)):
            raise ConfigError(f"{where}[{n}].seeds: must be a list of 1 to {MAX_REPORT_SEEDS} distinct seeds "
                              f"(integers from 0), got {seeds!r}.")
        reports.append(BoardReport(file, config, tuple(seeds)))
    return tuple(reports)


@dataclass(frozen=True)
class BoardFigure:
    """A figure a board keeps beside its README: ``c3bench plot tradeoff`` of the board's entries that are
    rows of ``configs``, with curves over ``vary`` (e.g. the AdaSplit paper's Figure 1), in ``file``."""

    file: str
    configs: tuple[str, ...]
    vary: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "configs": list(self.configs), **({"vary": list(self.vary)} if self.vary else {})}

    def command(self, board: Board) -> str:
        """The ``c3bench plot tradeoff`` command that draws this figure from the board's entries."""
        configs = " ".join(f"--config {name}" for name in self.configs)
        vary = f" --vary {','.join(self.vary)}" if self.vary else ""
        return (f"c3bench plot tradeoff leaderboards/{board.protocol}/entries {configs}{vary} --convention "
                f"{board.convention} --min-seeds {board.min_seeds} -o {self.file}")


def rows_figure_title(protocol: str, configs: Sequence[str], vary: Sequence[str], convention: str) -> str:
    """The title of a trade-off figure of configurations' rows: a board's declared figure, and the same
    figure drawn by ``plot tradeoff --config`` (so the command a board README gives draws it as shown)."""
    curves = f"; curves over {', '.join(vary)}" if vary else ""
    return f"{protocol}: rows of {', '.join(configs)}{curves} ({convention} convention)"


def _names(value: Any, where: str, what: str, required: bool) -> tuple[str, ...]:
    """A list of distinct names (configurations, hyperparameters), as a declaration gives it."""
    if (not isinstance(value, list) or not (1 if required else 0) <= len(value) <= MAX_FIGURE_NAMES
            or not all(isinstance(v, str) and NAME.fullmatch(v) and not v.endswith(".toml") for v in value)
            or len(set(value)) != len(value)):
        raise ConfigError(f"{where}: must be a list of {'1' if required else '0'} to {MAX_FIGURE_NAMES} distinct "
                          f"{what}, got {value!r}.")
    return tuple(value)


def _figures(value: Any, source: Path) -> tuple[BoardFigure, ...]:
    """Validate board.json's ``figures``: a list of {"file": "NAME.png", "configs": [NAME, ...], "vary": [...]}."""
    where = f"{source}: figures"
    if not isinstance(value, list):
        raise ConfigError(f"{where}: must be a list of {{\"file\", \"configs\", \"vary\"}} objects.")
    figures: list[BoardFigure] = []
    for n, item in enumerate(value):
        if not isinstance(item, dict) or not {"file", "configs"} <= set(item) <= {"file", "configs", "vary"}:
            raise ConfigError(f"{where}[{n}]: must be an object with the keys file and configs (and optionally vary).")
        file = item["file"]
        if not isinstance(file, str) or not FIGURE_FILE.fullmatch(file) or file.casefold() == FIGURE.casefold():
            raise ConfigError(f"{where}[{n}].file: must be a file name such as FIGURE1.png (letters, digits, '_', '-', "
                              f"then .png; not {FIGURE}), got {file!r}.")
        if file.casefold() in {f.file.casefold() for f in figures}:  # one file where names ignore case
            raise ConfigError(f"{where}[{n}].file: {file} is declared twice.")
        configs = _names(item["configs"], f"{where}[{n}].configs", "configuration names (see `c3bench reproduce "
                         "--list`)", required=True)
        vary = _names(item.get("vary", []), f"{where}[{n}].vary", "hyperparameter names", required=False)
        figures.append(BoardFigure(file, configs, vary))
    return tuple(figures)


@dataclass
class Board:
    """A board's declaration (``board.json``) and where its files live."""

    path: Path
    protocol: str
    bmax_gb: float
    cmax_tflops: float
    temperature: float
    convention: str
    protocol_params: dict[str, Any]
    title: str = ""
    description: str = ""
    min_seeds: int = 3
    provenance: str = "any"
    notes: tuple[str, ...] = ()  # plain-text lines for a reader (e.g. why rows differ from a paper)
    findings: str = ""  # a path, relative to the board folder, to where its differences are explained
    reports: tuple[BoardReport, ...] = ()  # reproduction reports kept beside the README
    figures: tuple[BoardFigure, ...] = ()  # figures of named configurations' rows, beside tradeoff.png

    @property
    def scale(self) -> C3Scale:
        """The board's C3 scale (its ``bmax_gb``, ``cmax_tflops`` and ``temperature``)."""
        return C3Scale(self.bmax_gb, self.cmax_tflops, self.temperature)

    @property
    def entries_dir(self) -> Path:
        return self.path / ENTRIES

    @property
    def readme(self) -> Path:
        return self.path / README

    @property
    def figure(self) -> Path:
        return self.path / FIGURE

    def as_json(self) -> dict[str, Any]:
        return {"protocol": self.protocol, "title": self.title, "description": self.description,
                "bmax_gb": self.bmax_gb, "cmax_tflops": self.cmax_tflops, "temperature": self.temperature,
                "convention": self.convention, "min_seeds": self.min_seeds, "provenance": self.provenance,
                "protocol_params": self.protocol_params,
                **({"notes": list(self.notes)} if self.notes else {}),
                **({"findings": self.findings} if self.findings else {}),
                **({"reports": [r.as_json() for r in self.reports]} if self.reports else {}),
                **({"figures": [f.as_json() for f in self.figures]} if self.figures else {})}

    @classmethod
    def load(cls, folder: Path) -> Board:
        """Read and validate ``folder/board.json``; raise ConfigError naming the file and field."""
        source = folder / BOARD_FILE
        if folder.is_symlink():
            raise LinkRefused(f"{folder}: is a symbolic link; a board is a folder of its own files.")
        try:
            data = strict_json.loads(read_own_file(source, MAX_BOARD_BYTES, "board declaration"))
        except FileNotFoundError:
            raise ConfigError(f"{source}: missing; create it with `c3bench leaderboard new`.") from None
        except (ValueError, UnicodeDecodeError) as exc:  # malformed, duplicate keys, nesting, huge numbers
            raise ConfigError(f"{source}: malformed JSON ({exc}).") from None
        except OSError as exc:
            raise ConfigError(f"{source}: cannot be read ({describe_os_error(exc)})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: must be a JSON object.")
        for key in ("protocol", "bmax_gb", "cmax_tflops", "temperature", "convention", "protocol_params"):
            if key not in data:
                raise ConfigError(f"{source}: {key}: missing.")
        check_scale({key: data[key] for key in ("bmax_gb", "cmax_tflops", "temperature")}, f"{source}: ")
        if data["convention"] not in CONVENTIONS:
            raise ConfigError(f"{source}: convention: must be one of {', '.join(CONVENTIONS)}.")
        if not isinstance(data["protocol"], str) or not NAME.match(data["protocol"]):
            raise ConfigError(f"{source}: protocol: {data['protocol']!r} is not a protocol name (letters, digits, '.', "
                              "'_' and '-').")
        if data["protocol"] != folder.name:
            raise ConfigError(f"{source}: protocol: '{data['protocol']}' does not match the folder name '{folder.name}'.")
        if not isinstance(data["protocol_params"], dict):
            raise ConfigError(f"{source}: protocol_params: must be an object.")
        if data.get("provenance", "any") not in PROVENANCE:
            raise ConfigError(f"{source}: provenance: must be one of {', '.join(PROVENANCE)}.")
        min_seeds = data.get("min_seeds", 3)
        if not isinstance(min_seeds, int) or isinstance(min_seeds, bool) or min_seeds < 1:
            raise ConfigError(f"{source}: min_seeds: must be a positive integer.")
        for key in ("title", "description"):
            if not isinstance(data.get(key, ""), str):
                raise ConfigError(f"{source}: {key}: must be a string.")
        notes = data.get("notes", [])
        if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
            raise ConfigError(f"{source}: notes: must be a list of strings.")
        findings = data.get("findings", "")
        if not isinstance(findings, str) or findings.startswith("/") or "\\" in findings or ":" in findings:
            raise ConfigError(f"{source}: findings: must be a relative path such as ../FINDINGS.md.")
        reports = _reports(data.get("reports", []), source)
        return cls(folder, data["protocol"], float(data["bmax_gb"]), float(data["cmax_tflops"]),
                   float(data["temperature"]), data["convention"], data["protocol_params"],
                   str(data.get("title", "")), str(data.get("description", "")), min_seeds,
                   data.get("provenance", "any"), tuple(notes), findings, reports,
                   _figures(data.get("figures", []), source))


def find_boards(board_dir: str | Path) -> dict[str, Board]:
    """Every board under ``board_dir`` (folders holding a board.json), by protocol name."""
    root = Path(board_dir)
    if not root.is_dir():
        raise ConfigError(f"no leaderboard folder at {root}.")
    return {b.protocol: b for b in (Board.load(f.parent) for f in sorted(root.glob(f"*/{BOARD_FILE}")))}


def exceeds(used: float, limit: float) -> bool:
    """Whether ``used`` exceeds ``limit`` at the precision the limit is written with: budgets are printed
    figures (the paper's Cmax of 11.77 T), so 11.773 T is within it and 11.78 T is not."""
    exponent = Decimal(repr(float(limit))).as_tuple().exponent
    places = max(0, -exponent) if isinstance(exponent, int) else 0
    return round(used, places) > limit


def over_budget(totals: dict[str, Any], board: Board) -> list[str]:
    """Which of the board's budgets an entry exceeds ("bandwidth", "compute"; see :func:`exceeds`): cost is
    not misconduct, so such an entry is filed, scored by the formula (which has no cutoff) and marked."""
    gb, tflops, _ = CONVENTIONS[board.convention].measures(totals)
    return [what for what, used, limit in (("bandwidth", gb, board.bmax_gb), ("compute", tflops, board.cmax_tflops))
            if exceeds(used, limit)]



def board_rows(board: Board, records: Sequence[tuple[str, dict[str, Any]]]) -> list[ScoreRow]:
    """The configurations of these entries, scored under the board's scale (totals recomputed from each log)."""
    recomputed = [(source, {**r, "totals": totals_from_rounds(r["rounds"])}) for source, r in records]
    scale = board.scale
    rows, _ = score_table(recomputed, scale.bmax_gb, scale.cmax_tflops, scale.temperature, board.convention)
    return rows
