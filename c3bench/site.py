"""The leaderboards as a static web site: ``write_site(board_dir, out_dir)``.

``out_dir/index.html`` lists the boards; ``out_dir/<protocol>/index.html`` shows one board's ranked
table (sortable by any column), its trade-off figure (``tradeoff.svg`` beside it), its budgets,
temperature and cost convention, and controls that re-rank the table by C3 recomputed in the browser
under budgets the reader chooses. Each entry's JSON is copied to ``out_dir/<protocol>/entries/``.

Pages are self-contained: inline CSS and plain JavaScript, the data as JSON in a
``<script type="application/json">`` block, no server, nothing fetched from the web, so they work
from a ``file://`` URL. Everything taken from records or board declarations is escaped, and a
Content-Security-Policy allowing only the page's own script (by hash) backs that up. The output is
a pure function of the boards (no timestamps, fixed SVG ids), so it can be diffed or checked in.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from c3bench.board import CONVENTION_TEXT, Board, board_rows, find_boards
from c3bench.board_view import ViewRow, board_view
from c3bench.hparams import ConfigError
from c3bench.leaderboard import entries as board_entries
from c3bench.results import totals_from_rounds, write_atomic
from c3bench.safe_files import refuse_links
from c3bench.score import ScoreRow
from c3bench.series import distinguishing_settings

ENTRIES = "entries"
INDEX = "index.html"
FIGURE = "tradeoff.svg"


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    numeric: bool


COLUMNS = (
    Column("rank", "rank", True),
    Column("method", "method", False),
    Column("settings", "settings", False),
    Column("rounds", "rounds", True),
    Column("seeds", "seeds", True),
    Column("c3", "C3", True),
    Column("accuracy", "accuracy (%)", True),
    Column("gb", "GB", True),
    Column("client_tflops", "client TFLOPs", True),
    Column("total_tflops", "total TFLOPs", True),
    Column("sim_time", "sim. time (s)", True),
    Column("status", "status", False),
    Column("entries", "entries", False),
)


# ------------------------------------------------------------------------------------------ helpers
def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _num(value: float) -> str:
    """A float as the shortest text that reads back as the same number (for inputs and data-value)."""
    short = f"{value:g}"
    return short if float(short) == value else repr(float(value))


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _script_json(data: Any) -> str:
    """JSON safe inside a <script> element: no '<', '>' or '&' can end it or open a comment."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, allow_nan=False, indent=1)
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _csp(style: str, script: str | None) -> str:
    scripts = _sha256(script) if script is not None else "'none'"
    return (f"default-src 'none'; img-src 'self' file: data:; style-src {_sha256(style)}; "
            f"script-src {scripts}; base-uri 'none'; form-action 'none'")


def _page(title: str, body: str, script: str | None = None) -> str:
    head = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="Content-Security-Policy" content="{_e(_csp(CSS, script))}">',
        '<meta name="generator" content="c3bench leaderboard render --html">',
        f"<title>{_e(title)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        body,
    ]
    if script is not None:
        head.append(f"<script>{script}</script>")
    return "\n".join([*head, "</body>", "</html>", ""])


class _Writer:
    """Writes files under one root and nowhere else; remembers what it wrote."""

    def __init__(self, root: Path):
        self.root = root.resolve()
        self.written: list[Path] = []

    def write(self, relative: str, data: str | bytes) -> Path:
        target = self.root / relative
        # resolve() follows any symlinked folder on the way; the file itself is replaced, not followed
        if not target.parent.resolve().is_relative_to(self.root) or target.name in ("", ".", ".."):
            raise ConfigError(f"refusing to write {target}: it is outside {self.root}")
        refuse_links(self.root, target, "site")  # a planted link is refused, never written through
        write_atomic(target, data)
        target.chmod(0o644)  # mkstemp makes files private; a site is meant to be served and read
        self.written.append(target)
        return target


def _safe_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and not any(c in name for c in "/\\\0")


# ------------------------------------------------------------------------------------------ data
@dataclass
class _BoardData:
    board: Board
    records: list[tuple[str, dict[str, Any]]]  # ("entries/<file>", record), valid records only
    files: dict[str, Path]  # source -> the entry file on the board
    unreadable: list[str]
    view: list[ViewRow]
    settings: dict[str, str]

    @property
    def rows(self) -> list[ScoreRow]:
        return [v.score for v in self.view]


def _recomputed(record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "totals": totals_from_rounds(record["rounds"])}


def _collect(board: Board) -> _BoardData:
    records: list[tuple[str, dict[str, Any]]] = []
    files: dict[str, Path] = {}
    unreadable: list[str] = []
    for path, record in board_entries(board):
        if record is None or not _safe_name(path.name):
            unreadable.append(path.name)
            continue
        source = f"{ENTRIES}/{path.name}"
        records.append((source, record))
        files[source] = path
    settings = distinguishing_settings([r for _, r in records]) if records else {}
    return _BoardData(board, records, files, unreadable, board_view(board, records), settings)


def _row_data(data: _BoardData) -> list[dict[str, Any]]:
    """What the browser needs to re-score, re-rank and re-mark each row (in the board's ranked order)."""
    by_source = dict(data.records)
    order = {s: i for i, (s, _) in enumerate(data.records)}
    methods = sorted({row.method for row in data.rows})
    out = []
    for row in data.rows:
        # each entry scored alone gives its own costs in the board's convention
        alone = [board_rows(data.board, [(f, by_source[f])])[0] for f in row.files]
        out.append({
            "method": row.method,
            "settings": data.settings.get(row.config_hash, ""),
            "config_hash": row.config_hash,
            "accuracy": row.accuracy_mean,
            "gb": row.bandwidth_gb,
            "tflops": row.client_tflops,
            "c3": row.c3,
            "seeds": row.seeds,
            "status": row.status,
            "files": sorted(row.files),
            # the ranking's tie-breaks: C3, then method name, then first appearance (score_table's order)
            "method_order": methods.index(row.method),
            "seq": order[row.files[0]],
            # over_budget marks a configuration when any of its entries exceeds a budget
            "max_gb": max(r.bandwidth_gb for r in alone),
            "max_tflops": max(r.client_tflops for r in alone),
        })
    return out


# ------------------------------------------------------------------------------------------ pages
def _cell(column: Column, text: str, value: Any = None, inner: str | None = None) -> str:
    attrs = f' class="{column.key}{" num" if column.numeric else ""}"'
    if column.numeric:
        attrs += f' data-value="{"" if value is None else _e(_num(value))}"'
    return f"<td{attrs}>{inner if inner is not None else _e(text)}</td>"


def _table(data: _BoardData) -> str:
    sort_mark = ' aria-sort="ascending"'
    head = "".join(
        f'<th scope="col" data-col="{c.key}" data-type="{"number" if c.numeric else "text"}"'
        f'{sort_mark if c.key == "rank" else ""} class="{c.key}{" num" if c.numeric else ""}">'
        f'<button type="button">{_e(c.label)}<span class="arrow" aria-hidden="true"></span></button></th>'
        for c in COLUMNS)
    cols = {c.key: c for c in COLUMNS}
    body = []
    for index, view in enumerate(data.view):
        row, marks = view.score, view.marks
        status_html = (
            f'<span class="mark provisional"{"" if marks.provisional else " hidden"}>{_e(marks.provisional)}</span>'
            f'<span class="state">{_e(marks.state)}</span>'
            f'<span class="mark over"{"" if marks.over else " hidden"}>{_e(marks.over)}</span>')
        links = ", ".join(
            f'<a href="{_e(quote(f))}" type="application/json" title="{_e(Path(f).name)}">s{_e(seed)}</a>'
            for seed, f in view.entries)
        cells = [
            _cell(cols["rank"], str(view.rank), view.rank),
            _cell(cols["method"], row.method),
            _cell(cols["settings"], view.settings, inner=", ".join(
                f'<span class="setting">{_e(part)}</span>' for part in view.setting_list) or "-"),
            _cell(cols["rounds"], str(view.rounds), view.rounds),
            _cell(cols["seeds"], str(row.seeds), row.seeds),
            _cell(cols["c3"], _fmt(row.c3, ".4f"), row.c3),
            _cell(cols["accuracy"], "", row.accuracy_mean,
                  f'{row.accuracy_mean:.2f}' + (f'<span class="pm"> ± {view.accuracy_std:.2f}</span>'
                                                if view.accuracy_std is not None else "")),
            _cell(cols["gb"], f"{row.bandwidth_gb:.4g}", row.bandwidth_gb),
            _cell(cols["client_tflops"], f"{row.client_tflops:.4g}", row.client_tflops),
            _cell(cols["total_tflops"], f"{row.total_tflops:.4g}", row.total_tflops),
            _cell(cols["sim_time"], _fmt(row.sim_time_s, ".4g"), row.sim_time_s),
            _cell(cols["status"], "", inner=status_html),
            _cell(cols["entries"], "", inner=links),
        ]
        body.append(f'<tr data-row="{index}">{"".join(cells)}</tr>')
    caption = ("Configurations ranked by C3 (mean over seeds). Click a column header to sort by it; "
               "click again to reverse.")
    return (f'<div class="table-wrap" role="region" aria-labelledby="ranking-caption" tabindex="0">'
            f'<table id="ranking"><caption id="ranking-caption">{_e(caption)}</caption>'
            f"<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody></table></div>")


def _controls(board: Board) -> str:
    fields = (("bmax", "Bmax", "GB", board.bmax_gb), ("cmax", "Cmax", "TFLOPs", board.cmax_tflops),
              ("temperature", "Temperature T", "", board.temperature))
    inputs = "".join(
        f'<div class="field"><label for="in-{key}">{name}{f" ({unit})" if unit else ""}</label>'
        f'<input id="in-{key}" name="{key}" type="number" min="0" step="any" inputmode="decimal" required '
        f'value="{_num(value)}" data-default="{_num(value)}"></div>'
        for key, name, unit, value in fields)
    return (
        '<section class="controls" aria-labelledby="controls-title" hidden>'
        '<h2 id="controls-title">Re-rank under other budgets</h2>'
        "<p>Scores are recomputed here in your browser from the table's accuracy, bandwidth and client "
        "compute; the board's own ranking always uses its declared budgets.</p>"
        f'<form id="budgets" novalidate>{inputs}'
        '<div class="field"><button type="reset" id="reset">Reset to the board\'s budgets</button></div>'
        "</form>"
        '<p id="budget-note" class="note" role="status" aria-live="polite">'
        "Ranked under the board's declared budgets.</p></section>")


def _svg_size(svg: str) -> tuple[str, str] | None:
    match = re.search(r'<svg[^>]*?\swidth="([\d.]+)pt"[^>]*?\sheight="([\d.]+)pt"', svg)
    if match is None:
        return None
    return tuple(str(round(float(v) * 4 / 3)) for v in match.groups())  # type: ignore[return-value]


def _figure_svg(data: _BoardData) -> str | None:
    """The board's trade-off figure as SVG text (as the README's, with fixed ids), or None without one."""
    board = data.board
    finished = [(s, _recomputed(r)) for s, r in data.records if r["rounds"]]
    if not finished:
        return None
    # a fixed salt makes matplotlib's element ids (random otherwise) the same on every run; labels come
    # from records, so '$' must not start mathtext (an unknown command would abort the whole site)
    # (a site embeds the figure as SVG, so it must draw it: the one place rendering loads matplotlib)
    import matplotlib

    from c3bench.plots import save, tradeoff_figure

    rc = {"svg.hashsalt": "c3bench-site", "svg.fonttype": "path", "text.parse_math": False}
    with matplotlib.rc_context(rc):
        fig = tradeoff_figure(finished, board.convention, iso_levels=[], bmax=board.bmax_gb,
                              cmax=board.cmax_tflops, temperature=board.temperature, min_seeds=board.min_seeds,
                              title=f"{board.protocol} leaderboard: mean ± std over seeds "
                                    f"({board.convention} convention)")
        with tempfile.TemporaryDirectory() as tmp:
            return save(fig, Path(tmp) / FIGURE).read_text(encoding="utf-8")


def _board_page(data: _BoardData, svg: str | None) -> tuple[str, str | None]:
    """(HTML of the board page, its script or None)."""
    board = data.board
    title = board.title or f"{board.protocol} leaderboard"
    params = ", ".join(f"{k}={v}" for k, v in sorted(board.protocol_params.items())) or "defaults"
    n, m = len(data.records), len(data.rows)
    convention = CONVENTION_TEXT.get(board.convention, board.convention)
    parts = [
        '<header><nav><a href="../index.html">← All leaderboards</a></nav>',
        f"<h1>{_e(title)}</h1>",
        f'<p class="lead">{_e(board.description)}</p>' if board.description else "",
        "</header><main>",
        '<section class="facts" aria-label="Board declaration"><dl>',
        f"<div><dt>Protocol</dt><dd><code>{_e(board.protocol)}</code></dd></div>",
        f'<div><dt>Bmax</dt><dd><span id="board-bmax">{board.bmax_gb:g}</span> GB</dd></div>',
        f'<div><dt>Cmax</dt><dd><span id="board-cmax">{board.cmax_tflops:g}</span> TFLOPs</dd></div>',
        f'<div><dt>Temperature</dt><dd>T = <span id="board-t">{board.temperature:g}</span></dd></div>',
        f"<div><dt>Seeds for a final score</dt><dd>{board.min_seeds}</dd></div>",
        f"<div><dt>Entries</dt><dd>{n} in {m} configuration{'' if m == 1 else 's'}</dd></div>",
        "</dl>",
        f"<p><strong>Cost convention.</strong> {_e(convention)}.</p>",
        f"<p><strong>Protocol parameters.</strong> <code>{_e(params)}</code></p>",
        '<p class="formula"><strong>Score.</strong> C3 = A/100 · exp(−(B/Bmax + C/Cmax)/T), from the mean '
        "accuracy A (%), bandwidth B (GB) and client compute C (TFLOPs) over a configuration's seeds. "
        f"Configurations with fewer than {board.min_seeds} seeds are marked provisional; an entry above a "
        "budget is filed, scored by the same formula and marked over budget (a cost is over a budget when it "
        "exceeds it at the precision the budget is written with).</p>",
        *(f'<p class="note">{_e(note)}</p>' for note in board.notes),
        *([f"<p class=\"note\">Where this board's numbers differ from published ones, and why: "
           f"<code>leaderboards/{_e(board.protocol)}/{_e(board.findings)}</code> in the repository.</p>"]
          if board.findings else []),
        "</section>",
    ]
    if data.unreadable:
        parts.append(f'<p class="warning" role="note">{len(data.unreadable)} entry file'
                     f"{'' if len(data.unreadable) == 1 else 's'} could not be read and "
                     f"{'is' if len(data.unreadable) == 1 else 'are'} left out: "
                     f"{_e(', '.join(data.unreadable))}. Run <code>c3bench leaderboard check</code>.</p>")
    script = None
    if data.rows:
        parts += [_controls(board), '<section aria-labelledby="ranking-title">',
                  '<h2 id="ranking-title">Ranking</h2>', _table(data),
                  '<p class="note">Accuracy: mean ± std over seeds of the per-client mean test accuracy '
                  "after the last round. Settings: the hyperparameters that differ between a method's "
                  "configurations on this board (every setting is in the entry files). Simulated time: "
                  "total over rounds, from the run's device fleet.</p></section>"]
        payload = {"board": {"protocol": board.protocol, "bmax": board.bmax_gb, "cmax": board.cmax_tflops,
                             "temperature": board.temperature, "min_seeds": board.min_seeds,
                             "convention": board.convention},
                   "rows": _row_data(data)}
        parts.append(f'<script type="application/json" id="board-data">\n{_script_json(payload)}\n</script>')
        script = BOARD_JS
    else:
        parts.append('<p class="empty">No entries yet.</p>')
    if svg is not None:
        size = _svg_size(svg)
        dims = f' width="{size[0]}" height="{size[1]}"' if size else ""
        parts.append(
            '<section aria-labelledby="figure-title"><h2 id="figure-title">Accuracy against cost</h2>'
            f'<figure><a href="{FIGURE}"><img id="tradeoff" src="{FIGURE}"{dims} alt="Accuracy against '
            "bandwidth (left) and against client compute (right), one marker per configuration at its mean "
            'over seeds with one-standard-deviation error bars; the Pareto front is dashed."></a>'
            "<figcaption>Mean ± std over seeds, log-scale costs, Pareto front dashed, C3 iso-lines dotted "
            f"(at the board's budgets). <a href=\"{FIGURE}\">Open the SVG</a>.</figcaption></figure>"
            "</section>")
    parts.append("</main>")
    parts.append(_footer())
    return _page(title, "\n".join(p for p in parts if p), script), script


def _footer() -> str:
    return ('<footer>Generated by <code>c3bench leaderboard render --html</code> from the boards\' '
            "<code>board.json</code> and entry files; every number is recomputed from the entries' "
            "per-round logs.</footer>")


def _index_page(boards: Sequence[_BoardData]) -> str:
    rows = []
    for data in boards:
        board = data.board
        best = data.rows[0] if data.rows else None
        best_text = "-" if best is None or best.c3 is None else f"{best.c3:.4f}"
        best_by = ""
        if best is not None:
            shown = data.settings.get(best.config_hash)
            label = best.method + (f" {shown}" if shown else "")
            best_by = f'<span class="by">{_e(label)}</span>'
        m = len(data.rows)
        rows.append(
            f'<tr><th scope="row"><a href="{_e(quote(board.protocol))}/index.html">'
            f"{_e(board.title or board.protocol + ' leaderboard')}</a></th>"
            f"<td><code>{_e(board.protocol)}</code></td>"
            f'<td class="num">{board.bmax_gb:g}</td><td class="num">{board.cmax_tflops:g}</td>'
            f'<td class="num">{board.temperature:g}</td><td>{_e(board.convention)}</td>'
            f'<td class="num">{len(data.records)}</td><td class="num">{m}</td>'
            f'<td class="num best">{best_text}{best_by}</td></tr>')
    heads = ("board", "protocol", "Bmax (GB)", "Cmax (TFLOPs)", "T", "convention", "entries",
             "configurations", "best C3")
    numeric = {"Bmax (GB)", "Cmax (TFLOPs)", "T", "entries", "configurations", "best C3"}
    num_class = ' class="num"'
    head = "".join(f'<th scope="col"{num_class if h in numeric else ""}>{_e(h)}</th>' for h in heads)
    table = (f'<div class="table-wrap" role="region" aria-labelledby="boards-caption" tabindex="0">'
             f'<table id="boards"><caption id="boards-caption">One board per protocol, with budgets fixed in '
             f"advance so that a configuration's score does not move when other entries arrive.</caption>"
             f"<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody></table></div>"
             if rows else '<p class="empty">No boards.</p>')
    body = "\n".join([
        "<header><h1>c3bench leaderboards</h1>",
        '<p class="lead">Federated and split learning under declared bandwidth and client-compute budgets, '
        "scored with the C3-Score: C3 = A/100 · exp(−(B/Bmax + C/Cmax)/T), with A the accuracy (%), B the "
        "bandwidth (GB) and C the client compute (TFLOPs).</p></header>",
        "<main>", table, "</main>", _footer(),
    ])
    return _page("c3bench leaderboards", body)


# ------------------------------------------------------------------------------------------ entry point
def write_site(board_dir: str | Path, out_dir: str | Path) -> list[Path]:
    """Write the static site for every board under ``board_dir`` into ``out_dir``; return the files written.

    Writes ``index.html`` and, per board, ``<protocol>/index.html``, ``<protocol>/tradeoff.svg`` and a
    copy of each readable entry under ``<protocol>/entries/``; stale ``.json`` copies there are removed.
    Nothing is written outside ``out_dir``. Raises ValueError when ``out_dir`` is ``board_dir`` itself.
    """
    root, source = Path(out_dir), Path(board_dir)
    boards = find_boards(source)
    if root.resolve() == source.resolve():
        raise ConfigError(f"the site folder {root} is the leaderboard folder; choose another one")
    writer = _Writer(root)
    collected = []
    for protocol in sorted(boards):
        board = boards[protocol]
        if not _safe_name(protocol):
            raise ConfigError(f"board folder name {protocol!r} cannot be used as a folder of the site")
        data = _collect(board)
        collected.append(data)
        for src, path in data.files.items():
            writer.write(f"{protocol}/{src}", path.read_bytes())
        entries = writer.root / protocol / ENTRIES
        if entries.is_dir() and entries.resolve().is_relative_to(writer.root):
            kept = set(writer.written)
            for stale in sorted(entries.glob("*.json")):
                if stale not in kept and not stale.is_dir():
                    stale.unlink()
        svg = _figure_svg(data)
        if svg is not None:
            writer.write(f"{protocol}/{FIGURE}", svg)
        else:
            stale_figure = writer.root / protocol / FIGURE
            if stale_figure.parent.resolve().is_relative_to(writer.root):
                stale_figure.unlink(missing_ok=True)
        page, _ = _board_page(data, svg)
        writer.write(f"{protocol}/{INDEX}", page)
    writer.write(INDEX, _index_page(collected))
    return writer.written


# ------------------------------------------------------------------------------------------ assets
def _asset(name: str) -> str:
    """A file of the site's CSS or JavaScript, shipped in ``c3bench/site_assets``."""
    return (Path(__file__).resolve().parent / "site_assets" / name).read_text(encoding="utf-8")


CSS = _asset("site.css")
BOARD_JS = _asset("board.js")
