"""The leaderboard web site: files and determinism without a browser; ranking, sorting, re-ranking under
other budgets, the figure, the entry links and escaping in real headless Chromium from file:// URLs.

The browser tests need Debian's ``chromium`` and ``chromium-driver`` (``apt-get install chromium
chromium-driver``) and the selenium package: with CI=true they fail when these are missing, elsewhere they
skip and say how to install them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
import torch

from c3bench.leaderboard import Board, board_rows, find_boards, new_board, over_budget, submit
from c3bench.results import config_hash, load_record, seal, totals_from_rounds
from c3bench.score import ScoreRow, c3_score
from c3bench.site import write_site
from tests.helpers import TINY, run_tiny

BMAX, CMAX, T = 0.05, 0.01, 8.0
HOSTILE = "<img src=x onerror=window.pwned=1> $\\foo$"
HOSTILE_SETTING = "</script><script>window.pwned=2</script>"
INSTALL = "apt-get install chromium chromium-driver (and pip install selenium)"


def _binary(env: str, names: tuple[str, ...], default: str) -> Path:
    if os.environ.get(env):
        return Path(os.environ[env])
    found = next((shutil.which(n) for n in names if shutil.which(n)), None)
    return Path(found or default)


CHROMIUM = _binary("C3BENCH_CHROMIUM", ("chromium", "chromium-browser"), "/usr/bin/chromium")
CHROMEDRIVER = _binary("C3BENCH_CHROMEDRIVER", ("chromedriver",), "/usr/bin/chromedriver")


# ------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def result_files(tmp_path_factory) -> list[Path]:
    """FedAvg with three seeds, FedProx and AdaSplit with one: real 1-round runs."""
    out = tmp_path_factory.mktemp("site-results")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for seed in (0, 1, 2):
            run_tiny(out, rounds=1, seed=seed)
        run_tiny(out, method="fedprox", rounds=1)
        run_tiny(out, method="adasplit", rounds=1)
    finally:
        torch.set_num_threads(threads)
    return sorted(out.glob("*.json"))


@pytest.fixture(scope="module")
def board_dir(result_files, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("site-boards") / "boards"
    new_board(root, "synthetic", BMAX, CMAX, T, "c3bench", dict(TINY))
    new_board(root, "mixed-cifar", 35.94, 11.77, T, "paper")  # stays empty
    submit(result_files, root)
    return root


@pytest.fixture(scope="module")
def site(board_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site") / "html"
    write_site(board_dir, out)
    return out


@pytest.fixture(scope="module")
def board(board_dir) -> Board:
    return find_boards(board_dir)["synthetic"]


def _records(board: Board) -> list[tuple[str, dict]]:
    return [(f"entries/{p.name}", load_record(p)) for p in sorted(board.entries_dir.glob("*.json"))]


def _require_browser() -> None:
    missing = [f"{what} at {path}" for what, path in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER))
               if not path.exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package")
    if missing:
        msg = f"browser tests need {', '.join(missing)}: {INSTALL}."
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)


@contextlib.contextmanager
def headless_chromium():
    """A headless Chromium driven by selenium (the browser tests' one set-up)."""
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000", "--disable-extensions", "--no-first-run"):
        options.add_argument(arg)
    browser = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        yield browser
    finally:
        browser.quit()


@pytest.fixture(scope="module")
def driver():
    with headless_chromium() as browser:
        yield browser


# ------------------------------------------------------------------------------------------ helpers
def _dom_rows(driver) -> list[list[str]]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#ranking tbody tr'))"
        ".map(tr => Array.from(tr.cells).map(td => td.textContent.trim()));")


def _expected(rows: list[ScoreRow], settings: dict[str, str], bmax: float, cmax: float,
              temperature: float) -> list[tuple[str, str, str]]:
    """(method, settings, C3 text) in the order score_table ranks them, with C3 from c3_score."""
    scored = [(c3_score(r.accuracy_mean, r.bandwidth_gb, r.client_tflops, bmax, cmax, temperature), r)
              for r in rows]
    scored.sort(key=lambda sr: (-sr[0], sr[1].method))
    return [(r.method, settings.get(r.config_hash) or "-", f"{s:.4f}") for s, r in scored]


def _triples(dom: list[list[str]]) -> list[tuple[str, str, str]]:
    return [(cells[1], cells[2], cells[5]) for cells in dom]


def _settings(records: list[tuple[str, dict]]) -> dict[str, str]:
    from c3bench.series import distinguishing_settings

    return distinguishing_settings([r for _, r in records])


def _check_over_marks(dom: list[list[str]], rows: list[ScoreRow], records: list[tuple[str, dict]],
                      settings: dict[str, str], chosen: Board) -> None:
    """Each row's status carries exactly the over-budget mark over_budget gives under ``chosen``."""
    by_method = {(r.method, settings.get(r.config_hash) or "-"): r for r in rows}
    by_source = dict(records)
    for cells in dom:
        row = by_method[(cells[1], cells[2])]
        over = sorted({w for f in row.files
                       for w in over_budget(totals_from_rounds(by_source[f]["rounds"]), chosen)})
        if over:
            assert f"over budget ({', '.join(over)})" in cells[11], cells
        else:
            assert "over budget" not in cells[11], cells


def _set_input(driver, element_id: str, value: str) -> None:
    from selenium.webdriver.common.by import By

    field = driver.find_element(By.ID, element_id)
    field.clear()
    field.send_keys(value)


def _header(driver, key: str):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, f'#ranking thead th[data-col="{key}"]')


# ------------------------------------------------------------------------------------------ without a browser
def test_site_files_are_complete_deterministic_and_inside_out_dir(board_dir, board, site, tmp_path):
    again = tmp_path / "again"
    written = write_site(board_dir, again)
    names = sorted(str(p.relative_to(again)) for p in written)
    entries = sorted(p.name for p in board.entries_dir.glob("*.json"))
    assert names == sorted(["index.html", "mixed-cifar/index.html", "synthetic/index.html",
                            "synthetic/tradeoff.svg", *(f"synthetic/entries/{n}" for n in entries)])
    for name in entries:
        assert (again / "synthetic/entries" / name).read_bytes() == (board.entries_dir / name).read_bytes()
    # the same boards give the same bytes, file by file (no timestamps, no random SVG ids)
    assert {n: (site / n).read_bytes() for n in names} == {n: (again / n).read_bytes() for n in names}
    assert sorted(str(p.relative_to(site)) for p in site.rglob("*") if p.is_file()) == names
    svg = (again / "synthetic/tradeoff.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "<dc:date>" not in svg
    page = (again / "synthetic/index.html").read_text()
    assert "http://" not in page.replace("http-equiv", "") and "https://" not in page  # no external assets
    # a stale copy of a withdrawn entry disappears on the next write
    stale = again / "synthetic/entries/withdrawn.json"
    stale.write_text("{}")
    write_site(board_dir, again)
    assert not stale.exists()
    empty = (again / "mixed-cifar/index.html").read_text()
    assert "No entries yet." in empty and not (again / "mixed-cifar/tradeoff.svg").exists()


def test_site_refuses_to_write_outside_out_dir(board_dir, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "synthetic").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(ValueError, match="outside"):
        write_site(board_dir, out)
    assert list(elsewhere.iterdir()) == []
    with pytest.raises(ValueError, match="leaderboard folder"):
        write_site(board_dir, board_dir)


# ------------------------------------------------------------------------------------------ hostile records
@pytest.fixture(scope="module")
def hostile_site(result_files, tmp_path_factory) -> Path:
    """A board written by hand (submit would refuse an unregistered method) whose title, method names
    and settings are markup."""
    root = tmp_path_factory.mktemp("hostile")
    folder = root / "boards" / "synthetic"
    (folder / "entries").mkdir(parents=True)
    (folder / "board.json").write_text(json.dumps({
        "protocol": "synthetic", "title": f"title {HOSTILE}", "description": f"about {HOSTILE_SETTING}",
        "bmax_gb": BMAX, "cmax_tflops": CMAX, "temperature": T, "convention": "c3bench",
        "protocol_params": {}}))
    source = json.loads(next(f for f in result_files if f.name.startswith("fedavg")).read_text())
    for i, note in enumerate(("plain", HOSTILE_SETTING)):
        record = json.loads(json.dumps(source))
        record["config"]["method"] = HOSTILE
        record["config"]["method_params"]["note"] = note
        record["config_hash"] = config_hash(record["config"])
        record["name"] = f"hostile{i}"
        (folder / "entries" / f"hostile{i}.json").write_text(json.dumps(seal(record), indent=1))
    out = root / "html"
    write_site(root / "boards", out)
    return out


def test_hostile_text_is_escaped_in_the_html(hostile_site):
    page = (hostile_site / "synthetic/index.html").read_text()
    index = (hostile_site / "index.html").read_text()
    for text in (page, index):
        assert "<img src=x" not in text and "<script>window.pwned" not in text
    assert "&lt;img src=x onerror=window.pwned=1&gt;" in page
    # the JSON block cannot be closed from inside: '<' is written as \\u003c
    data = page.split('<script type="application/json" id="board-data">', 1)[1].split("</script>", 1)[0]
    assert json.loads(data)["rows"][0]["method"] == HOSTILE
    assert page.count("</script>") == 2  # the data block and the page's own script, nothing else


# ------------------------------------------------------------------------------------------ in the browser
def test_board_page_ranks_sorts_and_reranks_in_the_browser(driver, site, board, tmp_path):
    records = _records(board)
    rows = board_rows(board, records)
    settings = _settings(records)
    assert len(rows) == 3
    driver.get((site / "synthetic/index.html").as_uri())
    assert driver.title == board.title

    # the table as rendered is the board's ranking
    dom = _dom_rows(driver)
    assert _triples(dom) == [(r.method, settings.get(r.config_hash) or "-", f"{r.c3:.4f}") for r in rows]
    assert [cells[0] for cells in dom] == ["1", "2", "3"]
    assert [cells[4] for cells in dom] == [str(r.seeds) for r in rows]
    for cells, row in zip(dom, rows, strict=True):
        assert ("provisional (1 of 3 seeds)" in cells[11]) == (row.seeds < board.min_seeds)
        assert "over budget" not in cells[11]
    assert _header(driver, "rank").get_attribute("aria-sort") == "ascending"
    headers = driver.execute_script("return document.querySelectorAll('#ranking thead th[scope=col]').length")
    assert headers == 13

    # clicking a header sorts by it (ties by rank), clicking again reverses it
    rank = {r.config_hash: i for i, r in enumerate(rows)}
    _header(driver, "accuracy").find_element("css selector", "button").click()
    by_acc = sorted(rows, key=lambda r: (r.accuracy_mean, rank[r.config_hash]))
    assert [c[1] for c in _dom_rows(driver)] == [r.method for r in by_acc]
    assert _header(driver, "accuracy").get_attribute("aria-sort") == "ascending"
    assert _header(driver, "rank").get_attribute("aria-sort") is None
    _header(driver, "gb").click()
    by_gb = sorted(rows, key=lambda r: (r.bandwidth_gb, rank[r.config_hash]))
    assert [c[1] for c in _dom_rows(driver)] == [r.method for r in by_gb]
    _header(driver, "gb").click()
    by_gb_desc = sorted(rows, key=lambda r: (-r.bandwidth_gb, rank[r.config_hash]))
    assert [c[1] for c in _dom_rows(driver)] == [r.method for r in by_gb_desc]
    assert _header(driver, "gb").get_attribute("aria-sort") == "descending"

    # a Bmax that changes the ranking, chosen from the data; the page re-ranks exactly as Python does
    default = _expected(rows, settings, BMAX, CMAX, T)
    # halving (then doubling) from the board's Bmax stops near the crossing, where scores are far from 0
    candidates = [float(f"{BMAX * 2.0 ** k:.6g}") for k in (*range(-1, -40, -1), *range(1, 40))]
    bmax = next((b for b in candidates if _expected(rows, settings, b, CMAX, T) != default), None)
    assert bmax is not None, "no Bmax changes this board's ranking; the test data no longer tests re-ranking"
    _set_input(driver, "in-bmax", repr(bmax))
    dom = _dom_rows(driver)
    assert _triples(dom) == _expected(rows, settings, bmax, CMAX, T) != default
    assert [cells[0] for cells in dom] == ["1", "2", "3"]
    assert _header(driver, "rank").get_attribute("aria-sort") == "ascending"
    _check_over_marks(dom, rows, records, settings, dataclasses.replace(board, bmax_gb=bmax))
    assert "Re-ranked" in driver.find_element("id", "budget-note").text
    # just below the largest bandwidth: only the configurations above it are marked
    bmax = float(f"{max(r.bandwidth_gb for r in rows) * 0.75:.6g}")
    _set_input(driver, "in-bmax", repr(bmax))
    dom = _dom_rows(driver)
    assert _triples(dom) == _expected(rows, settings, bmax, CMAX, T)
    _check_over_marks(dom, rows, records, settings, dataclasses.replace(board, bmax_gb=bmax))
    assert any("over budget (bandwidth)" in cells[11] for cells in dom)

    # a non-positive budget is refused and leaves the table as it was
    _set_input(driver, "in-cmax", "0")
    assert driver.find_element("id", "in-cmax").get_attribute("aria-invalid") == "true"
    assert _triples(_dom_rows(driver)) == _expected(rows, settings, bmax, CMAX, T)

    # Cmax too: one that changes the ranking again if any does, then one below every client compute
    reranked = _expected(rows, settings, bmax, CMAX, T)
    changing = [c for c in (float(f"{CMAX * 2.0 ** -k:.6g}") for k in range(1, 40))
                if _expected(rows, settings, bmax, c, T) != reranked][:1]
    for cmax in (*changing, float(f"{min(r.client_tflops for r in rows) / 2:.6g}")):
        _set_input(driver, "in-cmax", repr(cmax))
        dom = _dom_rows(driver)
        assert _triples(dom) == _expected(rows, settings, bmax, cmax, T)
        chosen = dataclasses.replace(board, bmax_gb=bmax, cmax_tflops=cmax)
        _check_over_marks(dom, rows, records, settings, chosen)
    assert all("compute" in cells[11] for cells in dom)

    # reset restores the board's budgets and ranking
    driver.find_element("id", "reset").click()
    assert _triples(_dom_rows(driver)) == default
    assert driver.find_element("id", "in-bmax").get_attribute("value") == f"{BMAX:g}"
    assert driver.find_element("id", "budget-note").text == "Ranked under the board's declared budgets."
    assert not any("over budget" in cells[11] for cells in _dom_rows(driver))
    assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []

    # a screenshot of the whole page, for a person to look at
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1400, min(height + 140, 4000))
    for target in (tmp_path / "c3bench-site.png", Path("/tmp/c3bench-site.png")):
        assert driver.save_screenshot(str(target))
    driver.set_window_size(1400, 1000)


def test_board_page_figure_and_entry_links(driver, site, board):
    from selenium.webdriver.common.by import By

    driver.get((site / "synthetic/index.html").as_uri())
    assert driver.execute_script(
        "const i = document.getElementById('tradeoff'); return i.complete && i.naturalWidth > 0 && "
        "i.src.endsWith('/tradeoff.svg');")
    assert (site / "synthetic/tradeoff.svg").read_text().count("<svg") == 1
    links = driver.find_elements(By.CSS_SELECTOR, "#ranking td.entries a")
    entries = sorted(board.entries_dir.glob("*.json"))
    assert len(links) == len(entries)
    targets = sorted(Path(unquote(urlparse(a.get_attribute("href")).path)) for a in links)
    assert [t.name for t in targets] == [e.name for e in entries]
    for target, entry in zip(targets, entries, strict=True):
        assert target.is_relative_to(site / "synthetic/entries") and target.read_bytes() == entry.read_bytes()
    labels = driver.execute_script(
        "return Array.from(document.querySelectorAll('#budgets input')).map(i => i.labels[0].textContent);")
    assert labels == ["Bmax (GB)", "Cmax (TFLOPs)", "Temperature T"]


def test_index_page_lists_boards_and_links_to_them(driver, site, board):
    from selenium.webdriver.common.by import By

    rows = board_rows(board, _records(board))
    driver.get((site / "index.html").as_uri())
    cells = _dom_table(driver, "#boards")
    assert [c[1] for c in cells] == ["mixed-cifar", "synthetic"]
    synthetic = cells[1]
    assert synthetic[6:8] == ["5", "3"] and synthetic[8].startswith(f"{rows[0].c3:.4f}")
    assert cells[0][6:9] == ["0", "0", "-"]
    driver.find_element(By.LINK_TEXT, board.title).click()
    assert driver.current_url == (site / "synthetic/index.html").as_uri()
    assert len(_dom_rows(driver)) == len(rows)
    driver.find_element(By.PARTIAL_LINK_TEXT, "All leaderboards").click()
    assert driver.current_url == (site / "index.html").as_uri()


def _dom_table(driver, selector: str) -> list[list[str]]:
    return driver.execute_script(
        f"return Array.from(document.querySelectorAll('{selector} tbody tr'))"
        ".map(tr => Array.from(tr.cells).map(td => td.textContent.trim()));")


def test_hostile_text_renders_as_text_in_the_browser(driver, hostile_site):
    for page in ("synthetic/index.html", "index.html"):
        driver.get((hostile_site / page).as_uri())
        assert driver.execute_script("return window.pwned === undefined")
        assert driver.execute_script("return document.querySelectorAll('img:not(#tradeoff)').length") == 0
        # the data block and the page's own script on a board page, no script at all on the index
        assert driver.execute_script("return document.scripts.length") == (0 if page == "index.html" else 2)
    driver.get((hostile_site / "synthetic/index.html").as_uri())
    assert driver.title == f"title {HOSTILE}"
    assert driver.find_element("tag name", "h1").text == f"title {HOSTILE}"
    dom = _dom_rows(driver)
    assert [c[1] for c in dom] == [HOSTILE, HOSTILE]
    assert sorted(c[2] for c in dom) == sorted([f"note={HOSTILE_SETTING}", "note=plain"])
    _header(driver, "method").click()  # the page's script still runs
    assert _header(driver, "method").get_attribute("aria-sort") == "ascending"


def test_the_sites_figure_draws_provisional_entries_hollow_as_the_readme_does(site, board):
    import re

    svg = (site / "synthetic" / "tradeoff.svg").read_text()
    assert any(r.seeds < board.min_seeds for r in board_rows(board, _records(board)))  # FedProx, AdaSplit: 1 seed
    hollow = re.findall(r'<use [^>]*style="fill: #ffffff; stroke: #[0-9a-f]{6}', svg)
    assert hollow  # white-filled markers: the provisional configurations and the legend's "hollow" entry


@pytest.fixture(scope="module")
def settings_site(tmp_path_factory) -> Path:
    """A board whose AdaSplit configurations differ in several settings, so the settings cell wraps."""
    out = tmp_path_factory.mktemp("settings-results")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run_tiny(out, method="adasplit", rounds=1)
        run_tiny(out, method="adasplit", rounds=1, kappa="0.25", eta="0.3", encoding="sparse", server_gradient="true",
                 lr_schedule="constant", mask_l1="all")
    finally:
        torch.set_num_threads(threads)
    root = tmp_path_factory.mktemp("settings-boards") / "boards"
    new_board(root, "synthetic", BMAX, CMAX, T, "c3bench", dict(TINY))
    submit(sorted(out.glob("*.json")), root)
    html = tmp_path_factory.mktemp("settings-site") / "html"
    write_site(root, html)
    return html


def test_the_settings_column_wraps_between_settings_never_inside_one(driver, settings_site):
    driver.set_window_size(900, 1000)
    try:
        driver.get((settings_site / "synthetic" / "index.html").as_uri())
        cells = driver.execute_script(
            "return Array.from(document.querySelectorAll('#ranking td.settings')).map(td => ({"
            "  text: td.textContent, height: td.getBoundingClientRect().height,"
            "  parts: Array.from(td.querySelectorAll('.setting')).map(s => [s.textContent, s.getClientRects().length,"
            "                                                             Math.round(s.getBoundingClientRect().top)])"
            "}));")
    finally:
        driver.set_window_size(1400, 1000)
    long = max(cells, key=lambda c: len(c["text"]))
    assert "encoding=sparse" in long["text"] and len(long["parts"]) >= 5
    assert all(lines == 1 for _, lines, _ in long["parts"]), long["parts"]  # no setting is broken across lines
    assert len({top for _, _, top in long["parts"]}) > 1  # the cell did wrap, between settings
