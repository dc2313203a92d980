"""What the figures show, computed from records alone, without matplotlib: one point per
configuration (mean and std over its seeds), one-parameter sweeps joined into series, the Pareto
front, C3 iso-levels, the settings that tell configurations apart, and each method's colour and
marker. :mod:`c3bench.plots` draws them; the board README and the web site read them too, so
rendering a board's tables never loads matplotlib.
"""

from __future__ import annotations

import hashlib
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from c3bench.conventions import CONVENTIONS
from c3bench.hparams import did_you_mean
from c3bench.results import canonical_json, group_by_config
from c3bench.score import c3_score, measures
from c3bench.settings_text import SYMBOLS, completed, declared_defaults, setting_text  # noqa: F401 - SYMBOLS re-exported
from c3bench.settings_text import flatten as _flatten
from c3bench.settings_text import key_text as _key_text
from c3bench.settings_text import short as _short

# one (colour, marker) per built-in method, the same in every figure
METHOD_STYLES = {
    "fedavg": ("tab:blue", "o"),
    "fedprox": ("tab:orange", "s"),
    "scaffold": ("tab:green", "^"),
    "fednova": ("tab:purple", "D"),
    "sl-basic": ("tab:brown", "v"),
    "splitfed": ("tab:pink", "P"),
    "adasplit": ("tab:red", "*"),
    "edgesplit": ("tab:cyan", "X"),
}
# for other methods, chosen by a hash of the name: colours and markers the built-ins do not use first
EXTRA_COLORS = ("tab:olive", "tab:gray", "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#a6761d",
                "navy", "maroon", "teal", "#e6ab02")
EXTRA_MARKERS = ("h", "p", "<", ">", "d", "H", "8", "o", "s", "^", "D", "v")
LABEL_MAX = 48  # characters in one line of a legend label
LABEL_LINES = 3  # lines of a legend label at most; settings beyond them are counted ("+2 more")
CONVENTION_NOTE = {name: c.short for name, c in CONVENTIONS.items()}

Records = Sequence[tuple[str, dict[str, Any]]]


# ------------------------------------------------------------------------------------------ styles
def method_style(method: str) -> tuple[str, str]:
    """(colour, marker) of a method: fixed for the built-in methods, from a hash of the name otherwise,
    so that a method looks the same in every figure whatever else is plotted."""
    if method in METHOD_STYLES:
        return METHOD_STYLES[method]
    digest = hashlib.sha256(method.encode()).digest()  # not hash(): that changes between processes
    return EXTRA_COLORS[digest[0] % len(EXTRA_COLORS)], EXTRA_MARKERS[digest[1] % len(EXTRA_MARKERS)]


def _method_order(method: str) -> tuple[int, str]:
    builtin = list(METHOD_STYLES)
    return (builtin.index(method) if method in builtin else len(builtin), method)


# ------------------------------------------------------------------------------------------ data
@dataclass
class ConfigPoint:
    """One configuration aggregated over its seeds, in GB / TFLOPs / % (the score's units)."""

    config_hash: str
    method: str
    protocol: str
    label: str
    config: dict[str, Any]
    seeds: list[int]
    accuracy: float
    accuracy_std: float
    bandwidth: float
    bandwidth_std: float
    compute: float
    compute_std: float
    files: list[str] = field(default_factory=list)
    key_params: list[str] | None = None  # the method's key hyperparameters; None: the record does not say
    defaults: dict[str, Any] | None = None  # the method's defaults, where the record carries them
    settings: dict[str, str] = field(default_factory=dict)  # name -> shown text, what sets it apart
    provisional: bool = False
    stopped_at: list[int] = field(default_factory=list)  # budget-stopped seeds: the rounds they completed

    def value(self, key: str) -> Any:
        return self.config["rounds"] if key == "rounds" else self.config["method_params"].get(key)


@dataclass
class Series:
    """What one legend entry draws: a single configuration, or a curve over one hyperparameter."""

    label: str
    points: list[ConfigPoint]
    key: str | None = None  # the hyperparameter a curve varies

    @property
    def is_curve(self) -> bool:
        return self.key is not None

    @property
    def method(self) -> str:
        return self.points[0].method


def _std(values: list[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


def _hparams(records: Iterable[dict[str, Any]]) -> tuple[list[str] | None, dict[str, Any] | None]:
    """The key hyperparameters and defaults of the first record that carries them (older ones do not)."""
    for record in records:
        hp = record.get("hparams")
        if isinstance(hp, dict) and isinstance(hp.get("key"), list):
            defaults = hp.get("defaults")
            return [str(k) for k in hp["key"]], defaults if isinstance(defaults, dict) else None
    return None, None


def config_points(records: Records, convention: str = "c3bench", min_seeds: int | None = None) -> list[ConfigPoint]:
    """Group records by ``config_hash`` (the config without the seed) and average over seeds.

    A configuration with fewer than ``min_seeds`` seeds is marked provisional.
    """
    finished = [(s, r) for s, r in records if r["totals"].get("accuracy") is not None]
    declared = declared_defaults(r for _, r in finished)
    points = []
    for chash, members in group_by_config(finished).items():
        values = [measures(r, convention) for _, r in members]
        first = members[0][1]
        key_params, defaults = _hparams(r for _, r in members)
        seeds = sorted(r["config"]["seed"] for _, r in members)
        points.append(ConfigPoint(
            config_hash=chash,
            method=first["config"]["method"],
            protocol=first["config"]["protocol"],
            label=first["config"]["method"],
            config={k: v for k, v in completed(first, declared).items() if k != "seed"},
            seeds=seeds,
            accuracy=statistics.fmean(m[0] for m in values),
            accuracy_std=_std([m[0] for m in values]),
            bandwidth=statistics.fmean(m[1] for m in values),
            bandwidth_std=_std([m[1] for m in values]),
            compute=statistics.fmean(m[2] for m in values),
            compute_std=_std([m[2] for m in values]),
            files=[s for s, _ in members],
            key_params=key_params,
            defaults=defaults,
            provisional=min_seeds is not None and len(set(seeds)) < min_seeds,
            stopped_at=sorted(r["totals"]["rounds_completed"] for _, r in members if r["status"] == "budget-stopped"),
        ))
    _label_points(points)
    points.sort(key=lambda p: (p.protocol, _method_order(p.method), p.label, p.config_hash))
    return points


def distinguishing_setting_lists(records: Sequence[dict[str, Any]]) -> dict[str, list[str]]:
    """config_hash -> the settings that differ among the configurations of the same method and
    protocol, each as people read it (``κ=0.3``, ``2 rounds``, ``bandwidth budget 20 MB``), from the
    records alone."""
    defaults = declared_defaults(records)
    configs: dict[str, dict[str, Any]] = {r["config_hash"]: completed(r, defaults) for r in records}
    groups: dict[tuple[str, str], list[str]] = {}
    for chash, cfg in configs.items():
        groups.setdefault((cfg["protocol"], cfg["method"]), []).append(chash)
    out: dict[str, list[str]] = {}
    for members in groups.values():
        flats = {h: _flatten(configs[h]) for h in members}
        names = sorted({k for f in flats.values() for k in f})
        differing = [k for k in names if len({canonical_json(f.get(k)) for f in flats.values()}) > 1]
        for h, flat in flats.items():
            out[h] = [setting_text(k, flat.get(k)) for k in differing]
    return out


def distinguishing_settings(records: Sequence[dict[str, Any]]) -> dict[str, str]:
    """config_hash -> :func:`distinguishing_setting_lists` joined by ', ' (what a board's settings
    column shows)."""
    return {h: ", ".join(parts) for h, parts in distinguishing_setting_lists(records).items()}


_setting_text = setting_text  # the name plots.py imports


def _label_points(points: list[ConfigPoint]) -> None:
    """Set each point's ``settings`` and legend label: its method plus what differs between the
    configurations of that method and protocol. Differing key hyperparameters and rounds are always
    named; another setting only where it is off the method's default (when the record gives defaults),
    which keeps labels short and still tells every two configurations apart."""
    groups: dict[tuple[str, str], list[ConfigPoint]] = {}
    for p in points:
        groups.setdefault((p.protocol, p.method), []).append(p)
    for members in groups.values():
        keys = next((p.key_params for p in members if p.key_params is not None), None) or []
        defaults = next((p.defaults for p in members if p.defaults is not None), None) or {}
        flats = {p.config_hash: _flatten(p.config) for p in members}
        names = {k for f in flats.values() for k in f}
        differing = {k for k in names if len({canonical_json(f.get(k)) for f in flats.values()}) > 1}
        ordered = ([k for k in keys if k in differing] + (["rounds"] if "rounds" in differing else [])
                   + sorted(differing - set(keys) - {"rounds"}))
        for p in members:
            flat = flats[p.config_hash]
            p.settings = {}
            for k in ordered:
                is_method_param = k in p.config.get("method_params", {})
                if (k not in keys and k != "rounds" and is_method_param and k in defaults
                        and canonical_json(defaults[k]) == canonical_json(flat.get(k))):
                    continue
                p.settings[k] = _setting_text(k, flat.get(k))
            p.label = _compose(p.method, list(p.settings.values()), _seed_note(p))
        _make_distinct(members, lambda p: p.label, lambda p, text: setattr(p, "label", text), lambda p: p)


def _seed_note(p: ConfigPoint) -> str:
    """'(1 seed)' for a provisional configuration, '(budget-stopped)' for one a budget stopped."""
    n = len(set(p.seeds))
    notes = [f"{n} seed{'' if n == 1 else 's'}"] if p.provisional else []
    if p.stopped_at:
        notes.append("budget-stopped")
    return f"({', '.join(notes)})" if notes else ""


def _compose(method: str, parts: Sequence[str], suffix: str = "") -> str:
    """``method part, part, ... (suffix)`` wrapped into lines of at most LABEL_MAX characters, at
    most LABEL_LINES of them: settings that do not fit are counted ("+2 more"), never cut mid-word."""
    lines: list[str] = []
    current = method
    for i, part in enumerate(parts):
        piece = part if len(part) <= LABEL_MAX else part[: LABEL_MAX - 1] + "…"
        joined = f"{current}{' ' if current == method else ', '}{piece}"
        if len(joined) + (1 if i < len(parts) - 1 else 0) <= LABEL_MAX:
            current = joined
            continue
        if len(lines) == LABEL_LINES - 1:  # no line left: count what is left out
            more = f"+{len(parts) - i} more"
            current = f"{current}, {more}" if len(current) + len(more) + 2 <= LABEL_MAX else f"{current}\n{more}"
            break
        lines.append(current + ("," if current != method else ""))
        current = piece
    if suffix:
        current = f"{current} {suffix}" if len(current) + len(suffix) + 1 <= LABEL_MAX else f"{current}\n{suffix}"
    return "\n".join([*lines, current])


def _make_distinct(items: Sequence[Any], label: Any, relabel: Any, point: Any) -> None:
    """Give items whose labels coincide (settings hidden by the label's length, or differences in
    code versions) distinct labels: each gets what sets its configuration apart from the others, in
    full, or else the start of its configuration hash."""
    by_label: dict[str, list[Any]] = {}
    for item in items:
        by_label.setdefault(label(item), []).append(item)
    for text, same in by_label.items():
        if len(same) < 2:
            continue
        flats = [_flatten(point(item).config) for item in same]
        names = sorted({k for f in flats for k in f})
        differing = [k for k in names if len({canonical_json(f.get(k)) for f in flats}) > 1]
        for item, flat in zip(same, flats, strict=True):
            extra = "; ".join(setting_text(k, flat.get(k)) for k in differing if k not in ("protocol_hash",))
            relabel(item, f"{text}\n[{extra or 'config ' + point(item).config_hash[:8]}]")
        if len({label(item) for item in same}) < len(same):
            for item in same:
                relabel(item, f"{label(item)} #{point(item).config_hash[:8]}")


def _without(config: dict[str, Any], key: str) -> str:
    """The configuration with ``key`` removed, as a comparable string."""
    reduced = dict(config)
    if key == "rounds":
        reduced.pop("rounds")
    else:
        reduced["method_params"] = {k: v for k, v in config["method_params"].items() if k != key}
    return canonical_json(reduced)


def _sortable(value: Any) -> tuple[int, Any]:
    """Numbers in order, then anything else (a missing value, text) by its text: never a TypeError."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, value)
    return (1, str(value))


def check_vary(vary: Sequence[str], params: Iterable[str], whose: str) -> None:
    """Raise ValueError naming the first of ``vary`` that is neither ``rounds`` nor one of ``params`` (the
    hyperparameters of ``whose``): a misspelt name would otherwise draw no curve and say nothing."""
    known = set(params)
    for name in vary:
        if name != "rounds" and name not in known:
            raise ValueError(f"cannot vary {name!r}: it is a hyperparameter of none of {whose}.{did_you_mean(name, known)}"
                             f" Theirs: {', '.join(sorted(known | {'rounds'}))}.")


def _candidates(members: Sequence[ConfigPoint], vary: Sequence[str] | None) -> list[str]:
    """Hyperparameters a curve may vary, in order of preference."""
    params = {k for p in members for k in p.config["method_params"]}
    if vary is not None:  # asked for by name; rounds only when asked for
        return [k for k in dict.fromkeys(vary) if k in params or k == "rounds"]
    keys = next((p.key_params for p in members if p.key_params is not None), None)
    if keys is not None:
        return [k for k in keys if k in params]
    # an older record without its key hyperparameters: whichever differs
    return sorted(k for k in params if len({canonical_json(p.value(k)) for p in members}) > 1)


def build_series(points: Sequence[ConfigPoint], vary: Sequence[str] | None = None) -> list[Series]:
    """Join configurations that differ in one hyperparameter into curves; the rest stand alone.

    For each method, the hyperparameter chosen is the one whose curves cover the most of that method's
    configurations, among ``vary`` if given (``rounds`` only when named there), else among the method's
    key hyperparameters as the records declare them (every differing one for records that do not);
    ties go to the earlier in that list.
    """
    series: list[Series] = []
    by_method: dict[str, list[ConfigPoint]] = {}
    for p in points:
        by_method.setdefault(p.method, []).append(p)
    for method, members in by_method.items():
        best: tuple[int, str, list[list[ConfigPoint]]] | None = None
        for key in _candidates(members, vary):
            families: dict[str, list[ConfigPoint]] = {}
            for p in members:
                families.setdefault(_without(p.config, key), []).append(p)
            curves = [f for f in families.values() if len({canonical_json(p.value(key)) for p in f}) >= 2]
            covered = sum(len(f) for f in curves)
            if covered and (best is None or covered > best[0]):
                best = (covered, key, curves)
        used: set[str] = set()
        if best is not None:
            _, key, curves = best
            for family in curves:
                family = sorted(family, key=lambda p, k=key: _sortable(p.value(k)))
                used.update(p.config_hash for p in family)
                values = f"{_key_text(key)}={_short(family[0].value(key))}…{_short(family[-1].value(key))}"
                if key == "rounds":
                    values = f"rounds {family[0].value(key)}…{family[-1].value(key)}"
                others = [t for k, t in family[0].settings.items() if k != key]
                series.append(Series(_compose(method, [values, *others]), family, key))
        series.extend(Series(p.label, [p]) for p in members if p.config_hash not in used)
    _make_distinct(series, lambda s: s.label, lambda s, text: setattr(s, "label", text), lambda s: s.points[0])
    series.sort(key=lambda s: (_method_order(s.method), not s.is_curve, s.label))
    return series


def pareto_front(points: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points (cost, accuracy) that no other point beats on both (cheaper or equal and more accurate,
    or cheaper and equally accurate); sorted by cost."""
    pts = sorted(set(points), key=lambda p: (p[0], -p[1]))
    front: list[tuple[float, float]] = []
    best = -math.inf
    for cost, acc in pts:
        if acc > best:
            front.append((cost, acc))
            best = acc
    return front


def auto_iso_levels(points: Sequence[ConfigPoint], bmax: float, cmax: float, temperature: float,
                    count: int = 3) -> list[float]:
    """A few round C3 levels spread over the scores of the plotted configurations."""
    scores = [c3_score(p.accuracy, p.bandwidth, p.compute, bmax, cmax, temperature) for p in points]
    if not scores:
        return []
    lo, hi = min(scores), max(scores)
    if hi - lo < 0.02:
        return [round(hi, 2)]
    return sorted({round(lo + (hi - lo) * (i + 0.5) / count, 2) for i in range(count)})


# ------------------------------------------------------------------------------------------ is a figure current
FIGURE_KEY = "c3bench-figure"  # the PNG text chunk that names what a figure was drawn from


def figure_key(records: Records, **settings: Any) -> str:
    """A fingerprint of what a figure shows: its records (source and digest), its settings, and the code
    and matplotlib version that draw it. Equal keys: the same figure, so it need not be drawn again."""
    from importlib.metadata import PackageNotFoundError, version
    from pathlib import Path

    here = Path(__file__).resolve().parent
    try:
        drawer = version("matplotlib")
    except PackageNotFoundError:
        drawer = None
    body = {"records": sorted((s, r.get("digest")) for s, r in records), "settings": settings, "matplotlib": drawer,
            "code": [hashlib.sha256((here / f).read_bytes()).hexdigest() for f in ("series.py", "plots.py", "settings_text.py")]}
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


MAX_FIGURE_BYTES = 64 * 2**20  # a PNG read for its text chunks; a larger file is not one c3bench drew


def png_text(path: Any) -> dict[str, str]:
    """The tEXt chunks of a PNG file ({} when it is missing or not a PNG), read without an image library."""
    import struct
    import zlib

    from c3bench.hparams import ConfigError
    from c3bench.safe_files import read_own_file

    try:  # a regular file of its own: a link, a FIFO or a device is no figure to trust (and could block)
        data = read_own_file(path, MAX_FIGURE_BYTES, "figure")
    except (OSError, ConfigError):
        return {}
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return {}
    out, at = {}, 8
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        chunk = data[at + 8:at + 8 + length]
        if kind == b"tEXt" and b"\0" in chunk:
            key, _, text = chunk.partition(b"\0")
            out[key.decode("latin-1")] = text.decode("latin-1")
        elif kind == b"zTXt" and b"\0" in chunk:
            key, _, rest = chunk.partition(b"\0")
            out[key.decode("latin-1")] = zlib.decompress(rest[1:]).decode("latin-1")
        elif kind == b"IEND":
            break
        at += 12 + length
    return out


def figure_is_current(path: Any, key: str) -> bool:
    """Whether the PNG at ``path`` was drawn from what ``key`` names."""
    return png_text(path).get(FIGURE_KEY) == key
