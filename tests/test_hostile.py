"""Hostile input, second front: what reaches a README, the file system, the disk and verify.

One case per kind, each beside its positive control (the honest input is accepted): text from records,
file names and board declarations stays text in a README (run through a real Markdown renderer and
headless Chromium), in the web site and on the console; symbolic links are refused, never followed;
operating-system errors end in one clear line; submit validates everything before it writes anything;
what a command may cost is bounded up front; verify is not as lenient as a record asks; two submits at
once leave a board that check accepts. Refusals exit 2 (submit's per-file refusals: 1) with a message
and never a traceback.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from c3bench.cli import app
from c3bench.leaderboard import check, find_boards, new_board, submit, write_board
from c3bench.record_log import TOTAL_COUNTERS
from c3bench.results import MAX_RECORD_BYTES, config_hash, load_record, seal, totals_from_rounds
from c3bench.site import write_site
from c3bench.verify import bit_identical, compare, mark, verify_entry
from tests.helpers import TINY, run_tiny

pytestmark = pytest.mark.usefixtures("one_thread")

cli = CliRunner()
REPO = Path(__file__).resolve().parent.parent
BMAX, CMAX = 0.05, 0.01
HOSTILE = "<img src=x onerror=window.pwned=1> [link](javascript:window.pwned=2) *em* `code` | cell"
HOSTILE_NAME = "x) <img src=x onerror=window.pwned=3> [y](javascript:window.pwned=4).json"
TINY_ARGS = ["--set", "num_clients=2", "--set", "train_per_client=32", "--set", "test_per_client=16"]


@pytest.fixture(scope="module")
def records(tmp_path_factory) -> list[Path]:
    """FedAvg, seeds 0 to 2: real 1-round runs."""
    out = tmp_path_factory.mktemp("hostile-results")
    for seed in (0, 1, 2):
        run_tiny(out, rounds=1, seed=seed)
    return sorted(out.glob("*.json"))


@pytest.fixture
def boards(tmp_path) -> Path:
    new_board(tmp_path / "boards", "synthetic", BMAX, CMAX, 8.0, "c3bench", dict(TINY))
    return tmp_path / "boards"


def _no_traceback(result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output


def _refused(result, *words: str, code: int = 2) -> None:
    _no_traceback(result)
    assert result.exit_code == code, result.output
    for word in words:
        assert word in result.output, (word, result.output)


def _resealed(source: Path, target: Path, change) -> Path:
    record = json.loads(source.read_text())
    change(record)
    record["config_hash"] = config_hash(record["config"])
    target.write_text(json.dumps(seal(record), indent=1))
    return target


def _submit(files, boards: Path, *extra: str):
    return cli.invoke(app, ["submit", *map(str, files), "--board-dir", str(boards), *extra])


# ================================================================== 1. text is data: README, site, console
def _hostile_board(root: Path, records: list[Path]) -> Path:
    """A board written by hand (as a careless or hostile maintainer could): its declaration, method
    names, settings and entry file names are markup. Rendering takes what it can read."""
    folder = root / "synthetic"
    (folder / "entries").mkdir(parents=True)
    (folder / "board.json").write_text(json.dumps({
        "protocol": "synthetic", "title": f"title {HOSTILE}", "description": f"about {HOSTILE}\n<script>window.pwned=5</script>",
        "bmax_gb": BMAX, "cmax_tflops": CMAX, "temperature": 8.0, "convention": "c3bench", "protocol_params": {},
        "notes": [f"note {HOSTILE}"]}))
    source = json.loads(records[0].read_text())
    for i, (note, name) in enumerate((("plain", "plain.json"), (HOSTILE, HOSTILE_NAME))):
        record = json.loads(json.dumps(source))
        record["config"]["method"] = HOSTILE
        record["config"]["method_params"]["note"] = note
        record["config_hash"] = config_hash(record["config"])
        record["name"] = f"hostile{i}"
        (folder / "entries" / name).write_text(json.dumps(seal(record), indent=1))
    write_board(find_boards(root)["synthetic"])
    return folder


def _markdown_html(readme: Path) -> str:
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": True}).enable("table").render(readme.read_text())
    page = readme.with_suffix(".html")
    page.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>readme</title></head><body>{body}</body></html>")
    return body


INJECTED = ("return [document.scripts.length, document.querySelectorAll('iframe, object, embed, [onerror], [onload], "
            "img:not([src=\"tradeoff.png\"]):not(#tradeoff)').length, Array.from(document.links).filter(a => "
            "a.protocol === 'javascript:').length, window.pwned === undefined]")


def test_a_readme_shows_hostile_text_as_text_in_a_real_markdown_renderer(records, boards, tmp_path):
    submit(records, boards)  # positive control: an honest board renders its table, links and figure
    honest = _markdown_html(boards / "synthetic" / "README.md")
    assert honest.count("<tr>") == 2 and honest.count('href="entries/fedavg_synthetic_s') == 3
    assert '<img src="tradeoff.png"' in honest
    folder = _hostile_board(tmp_path / "hostile", records)
    html = _markdown_html(folder / "README.md")
    for injected in ("<img src=x", "<script>", 'href="javascript:', "<em>em</em>", "<code>code</code>"):
        assert injected not in html, injected
    assert html.count("<tr>") == 3  # the header and two configurations: no cell broke out of its row
    assert html.count("&lt;img src=x onerror=window.pwned=1&gt; [link](javascript:window.pwned=2) *em*") >= 4


def test_the_rendered_readme_and_the_site_have_no_injected_element_in_chromium(records, tmp_path):
    from tests.test_site import _require_browser

    _require_browser()
    folder = _hostile_board(tmp_path / "hostile", records)
    _markdown_html(folder / "README.md")
    write_site(tmp_path / "hostile", tmp_path / "site")
    with _browser() as driver:
        driver.get((folder / "README.html").as_uri())
        assert driver.execute_script(INJECTED) == [0, 0, 0, True]
        assert driver.find_element("tag name", "h1").text == f"title {HOSTILE}"
        links = driver.execute_script("return Array.from(document.links).map(a => a.getAttribute('href'))")
        assert all(href.startswith("entries/") for href in links if href.endswith(".json")) and len(links) >= 2
        for page in ("index.html", "synthetic/index.html"):
            driver.get((tmp_path / "site" / page).as_uri())
            assert driver.execute_script(INJECTED)[1:] == [0, 0, True]
        titles = driver.execute_script("return Array.from(document.links).map(a => a.title)")
        assert HOSTILE_NAME in titles  # the file name is a link's title, not markup


def _browser():
    from tests.test_site import headless_chromium

    return headless_chromium()


@pytest.mark.parametrize(("change", "message"), [
    (lambda r: r["config"].__setitem__(f"x{HOSTILE}", 1), "keys no method or protocol declares"),
    (lambda r: r["config"].__setitem__("backbone", HOSTILE), "is not a registered backbone"),
    (lambda r: r["config"]["budgets"].__setitem__("note", HOSTILE), "keys that are no budget"),
    (lambda r: r["config"].__setitem__("devices", "fleet.json"), "config.devices"),
])
def test_submit_refuses_config_text_that_no_method_or_protocol_declares(records, boards, tmp_path, change, message):
    bad = _resealed(records[0], tmp_path / "bad.json", change)
    _refused(_submit([bad], boards), message, "refused 1 file", code=1)
    assert not list((boards / "synthetic" / "entries").iterdir())
    accepted = _submit(records[:1], boards)  # positive control
    assert accepted.exit_code == 0 and "entries/" in accepted.stdout


def test_the_console_prints_markup_in_names_files_and_configs_as_text(records, tmp_path):
    study = tmp_path / "study.toml"  # a configuration's description and run names
    study.write_text('name = "s"\ndescription = "[/]x [bold]y"\nprotocol = "synthetic"\n'
                     '[[runs]]\nname = "[/]row"\nmethod = "fedavg"\n')
    shown = cli.invoke(app, ["configs", str(study)])
    assert shown.exit_code == 0 and "[/]x [bold]y" in shown.stdout and "s/[/]row" in shown.stdout, shown.output
    odd = _resealed(records[0], tmp_path / "odd.json", lambda r: (r.__setitem__("name", "[/]n"),
                                                                  r["config"].__setitem__("protocol", "[/]p")))
    scored = cli.invoke(app, ["score", str(odd)])
    assert scored.exit_code == 0 and "C3 on [/]p" in scored.stdout, scored.output
    assert cli.invoke(app, ["show", str(odd)]).stdout.startswith("[/]n")
    ran = cli.invoke(app, ["run", "-m", "fedavg", "-q", "-o", str(tmp_path / "out"), "--name", "[bold]x", *TINY_ARGS])
    assert ran.exit_code == 0 and "[bold]x.json" in ran.stderr, ran.output
    folder = tmp_path / "a["  # a path quoting markup in an error message
    folder.mkdir()
    missing = cli.invoke(app, ["run", "--config", str(folder / "]b.toml")])
    _refused(missing, "a[/]b.toml: no such configuration file")
    (folder / "]b.json").write_text("{")
    _refused(cli.invoke(app, ["submit", str(folder / "]b.json"), "--board-dir", str(tmp_path)]),
             "a[/]b.json: record: malformed JSON", code=1)


# ================================================================== 2. symbolic links are refused, not followed
def test_a_board_is_written_without_following_links(records, boards, tmp_path):
    folder = boards / "synthetic"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (folder / "entries").rmdir()
    (folder / "entries").symlink_to(elsewhere, target_is_directory=True)
    _refused(_submit(records[:1], boards), "entries: is a symbolic link")
    assert list(elsewhere.iterdir()) == []
    (folder / "entries").unlink()
    (folder / "entries").mkdir()
    assert _submit(records[:1], boards).exit_code == 0  # positive control
    for name in ("tradeoff.png", "README.md"):
        target = tmp_path / f"victim-{name}"
        target.write_text("precious")
        planted = folder / name
        planted.unlink()
        planted.symlink_to(target)
        _refused(cli.invoke(app, ["leaderboard", "render", "--board-dir", str(boards)]), f"{name}: is a symbolic link")
        _refused(_submit(records[1:2], boards), f"{name}: is a symbolic link")
        assert target.read_text() == "precious"
        planted.unlink()
    assert cli.invoke(app, ["leaderboard", "render", "--board-dir", str(boards)]).exit_code == 0
    assert cli.invoke(app, ["leaderboard", "check", "--board-dir", str(boards), "--no-data"]).exit_code == 0


def test_an_entry_that_links_to_a_record_elsewhere_is_refused_by_check(records, boards, tmp_path):
    submit(records[:1], boards)
    (entry,) = (boards / "synthetic" / "entries").glob("*.json")
    outside = tmp_path / "outside.json"
    shutil.move(entry, outside)
    entry.symlink_to(outside)
    _refused(cli.invoke(app, ["leaderboard", "check", "--board-dir", str(boards), "--no-data"]),
             "is a symbolic link", code=1)
    entry.unlink()
    shutil.copy(outside, entry)  # positive control: the same record as the board's own file
    assert cli.invoke(app, ["leaderboard", "check", "--board-dir", str(boards), "--no-data"]).exit_code == 0


def test_a_run_refuses_a_planted_link_at_its_result(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.json"
    victim.write_text("precious")
    (out / "mine.json").symlink_to(victim)
    args = ["run", "-m", "fedavg", "-q", "-o", str(out), *TINY_ARGS, "--force"]
    _refused(cli.invoke(app, [*args, "--name", "mine"]), "mine.json: is a symbolic link")
    assert victim.read_text() == "precious"
    assert cli.invoke(app, [*args, "--name", "other"]).exit_code == 0  # positive control


# ================================================================== 3. names and operating-system errors
@pytest.mark.parametrize(("name", "message"), [
    ("../escaped", "folder separator"), ("..", "folder name"), (".hidden", "starts with '.'"), ("n" * 300, "longer than 200"),
])
def test_run_name_is_a_plain_file_name(tmp_path, name, message):
    out = tmp_path / "out"
    _refused(cli.invoke(app, ["run", "-m", "fedavg", "-q", "-o", str(out), "--name", name, *TINY_ARGS]), message)
    assert not list(tmp_path.rglob("*.json"))
    assert cli.invoke(app, ["run", "-m", "fedavg", "-q", "-o", str(out), "--name", "lr-3e-4", *TINY_ARGS]).exit_code == 0
    assert [p.name for p in tmp_path.rglob("*.json")] == ["lr-3e-4.json"]


def test_a_path_too_long_for_the_file_system_is_one_clear_line(tmp_path):
    too_long = tmp_path / ("d" * 300)
    _refused(cli.invoke(app, ["run", "-m", "fedavg", "-q", "-o", str(too_long), *TINY_ARGS]), "the name is too long")
    _refused(cli.invoke(app, ["leaderboard", "new", "synthetic", "--bmax", "1", "--cmax", "1", "--board-dir",
                              str(too_long)]), "the name is too long")


@contextlib.contextmanager
def _tmpfs(folder: Path, size: str = "2m"):
    """A small tmpfs at ``folder`` (root only: CI runs as root), unmounted afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not allowed here ({done.stderr.decode().strip() or 'not root'}); "
                    "the disk-full and read-only cases need it (CI runs as root)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def _fill(folder: Path) -> Path:
    """Fill the file system of ``folder``; the file that did it (remove it to free the space)."""
    filler = folder / "filler"
    with open(filler, "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def test_a_full_disk_and_a_read_only_folder_end_in_one_clear_line_and_lose_nothing(records, tmp_path):
    with _tmpfs(tmp_path / "small") as small:
        boards = small / "boards"
        assert cli.invoke(app, ["leaderboard", "new", "synthetic", "--bmax", "0.05", "--cmax", "0.01", "--board-dir",
                                str(boards), *[a for k, v in TINY.items() for a in ("--set", f"{k}={v}")]]).exit_code == 0
        assert _submit(records[:1], boards).exit_code == 0
        before = {p: p.read_bytes() for p in boards.rglob("*") if p.is_file()}
        filler = _fill(small)
        _refused(_submit(records[1:2], boards), "the disk is full")
        assert {p: p.read_bytes() for p in boards.rglob("*") if p.is_file()} == before  # nothing half-written
        out = small / "results"
        _refused(cli.invoke(app, ["run", "-m", "fedavg", "-q", "-o", str(out), *TINY_ARGS]), "the disk is full")
        _refused(cli.invoke(app, ["sweep", "-m", "fedavg", "-q", "-o", str(out), *TINY_ARGS, "-r", "1"]), "the disk is full")
        filler.unlink()  # space again: the same commands work
        assert _submit(records[1:2], boards).exit_code == 0
        assert cli.invoke(app, ["leaderboard", "check", "--board-dir", str(boards), "--no-data"]).exit_code == 0
        assert cli.invoke(app, ["run", "-m", "fedavg", "-q", "-o", str(out), *TINY_ARGS, "--force"]).exit_code == 0
        subprocess.run(["mount", "-o", "remount,ro", str(small)], check=True)
        _refused(cli.invoke(app, ["leaderboard", "render", "--board-dir", str(boards)]), "read-only")
        _refused(_submit(records[2:], boards), "read-only")
        _refused(cli.invoke(app, ["run", "-m", "fedavg", "-q", "-o", str(out), *TINY_ARGS, "--force"]), "read-only")


# ================================================================== 4. submit validates everything first
def _huge_counter(r: dict) -> None:
    r["rounds"][0]["per_client"][0]["samples"] = 2**64
    r["rounds"][0]["cumulative"]["samples"] = 2**64 + r["rounds"][0]["per_client"][1]["samples"]
    r["totals"] = totals_from_rounds(r["rounds"])


def _overflowing_sum(r: dict) -> None:
    r["rounds"][0]["sim_time_s"] = 1.5e308
    r["totals"]["sim_time_s"] = 1.5e308


def _deep(r: dict) -> None:
    nested: dict = {}
    for _ in range(40):
        nested = {"a": nested}
    r["config"]["method_params"]["deep"] = nested


BAD_RECORDS = {
    "integer beyond 64 bits": (lambda text: _edit_text(text, _huge_counter), "beyond 64 bits"),
    "sum beyond float range": (lambda text: _edit_text(text, _overflowing_sum), "seconds is outside"),
    "nested 40 levels": (lambda text: _edit_text(text, _deep), "levels deep; at most 32"),
    "duplicate key": (lambda text: text.replace('"status": ', '"status": "running", "status": ', 1), "appears twice"),
}


def _edit_text(text: str, change) -> str:
    record = json.loads(text)
    change(record)
    record["config_hash"] = config_hash(record["config"])
    return json.dumps(seal(record))


@pytest.mark.parametrize("case", sorted(BAD_RECORDS))
def test_submit_refuses_what_readers_could_read_differently(records, boards, tmp_path, case):
    make, message = BAD_RECORDS[case]
    bad = tmp_path / "bad.json"
    bad.write_text(make(records[0].read_text()))
    _refused(_submit([bad], boards), message, code=1)
    entries = boards / "synthetic" / "entries"
    assert not list(entries.iterdir())
    shutil.copy(bad, entries / "planted.json")  # filed by hand: check names it and checks the others
    assert _submit(records, boards).exit_code == 0  # positive control, beside the planted one
    checked = cli.invoke(app, ["leaderboard", "check", "--board-dir", str(boards), "--no-data"])
    _refused(checked, "planted.json", message, code=1)
    assert sum("planted.json" in line for line in checked.output.splitlines()) == 1  # one problem, named once
    assert cli.invoke(app, ["leaderboard", "render", "--board-dir", str(boards), "--html", str(tmp_path / "site")]).exit_code == 0


def test_an_oversized_record_is_refused_before_it_is_read(records, boards, tmp_path):
    big = tmp_path / "big.json"
    with open(big, "wb") as fh:
        fh.truncate(MAX_RECORD_BYTES + 1)  # sparse: no disk used, no byte read
    _refused(_submit([big], boards), f"a result record is at most {MAX_RECORD_BYTES:,} bytes", code=1)
    _refused(cli.invoke(app, ["score", str(big)]), "at most")
    assert cli.invoke(app, ["score", str(records[0])]).exit_code == 0


@pytest.mark.parametrize("value", ["5e-324", "1e300", "0"])
def test_board_budgets_too_small_or_large_to_score_are_refused(tmp_path, value):
    args = ["leaderboard", "new", "synthetic", "--cmax", "0.01", "--board-dir", str(tmp_path / "b")]
    _refused(cli.invoke(app, [*args, "--bmax", value]), "Bmax must be a number between 1e-09 and 1e+09")
    assert cli.invoke(app, [*args, "--bmax", "0.05"]).exit_code == 0  # positive control
    declared = tmp_path / "b" / "synthetic" / "board.json"
    declared.write_text(declared.read_text().replace('"bmax_gb": 0.05', f'"bmax_gb": {value}'))
    _refused(cli.invoke(app, ["leaderboard", "check", "--board-dir", str(tmp_path / "b"), "--no-data"]),
             "bmax_gb must be a number between", code=1)


def test_the_same_run_is_never_filed_twice(records, boards, tmp_path):
    assert _submit(records, boards).exit_code == 0  # positive control: three seeds, three entries
    entries = boards / "synthetic" / "entries"

    def other_numbers(r):  # a re-run elsewhere: one test sample of client 0 the other way
        r["rounds"][0]["accuracy"]["per_client"][0] += 100 / 32
        r["rounds"][0]["accuracy"]["mean"] = sum(r["rounds"][0]["accuracy"]["per_client"]) / 2
        r["totals"] = totals_from_rounds(r["rounds"])
    again = _resealed(records[0], tmp_path / "again.json", other_numbers)
    _refused(_submit([again], boards), "already holds this configuration and seed", "--replace", code=1)
    assert _submit([again], boards, "--replace").exit_code == 0 and len(list(entries.iterdir())) == 3
    budgeted = _resealed(records[1], tmp_path / "budgeted.json",  # a budget that never bound: the same run
                         lambda r: r["config"]["budgets"].__setitem__("bandwidth_bytes", 1e15))
    _refused(_submit([budgeted], boards, "--replace"), "one run filed twice", code=1)
    assert len(list(entries.iterdir())) == 3
    assert cli.invoke(app, ["leaderboard", "check", "--board-dir", str(boards), "--no-data"]).exit_code == 0


# ================================================================== 5. what a command may cost
def test_a_sweep_past_the_limit_is_refused_up_front(tmp_path):
    began = time.monotonic()
    grid = ["--grid", "lr=" + ",".join(f"{i}e-4" for i in range(1, 1001)), "--grid", "batch_size=8,16,32,64,128"]
    _refused(cli.invoke(app, ["sweep", "-m", "fedavg", *grid, "--seeds", "0-2", "--dry-run", "-o", str(tmp_path)]),
             "more than 10,000 runs")
    _refused(cli.invoke(app, ["sweep", "-m", "fedavg", "--seeds", "0-99999", "--dry-run"]), "more than 10,000 seeds")
    assert time.monotonic() - began < 10
    small = cli.invoke(app, ["sweep", "-m", "fedavg", "--grid", "lr=1e-3,2e-3", "--seeds", "0-1", "--dry-run",
                             "-o", str(tmp_path)])
    assert small.exit_code == 0 and "4 runs" in small.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["run", "-m", "fedavg", "--threads", str(2**70)], "Invalid value for '--threads'"),
    (["run", "-m", "fedavg", "--client-workers", str(2**70)], "Invalid value for '--client-workers'"),
    (["run", "-m", "fedavg", "--rounds", str(2**70)], "--rounds must be between 1 and 100000"),
    (["sweep", "-m", "fedavg", "-j", str(2**70), "--dry-run"], "Invalid value for '--jobs'"),
    (["sweep", "-m", "fedavg", "--seeds", str(2**70), "--dry-run"], "a seed is an integer in [0, 2^32)"),
    (["reproduce", "adasplit-table2", "-j", str(2**70), "--dry-run"], "Invalid value for '--jobs'"),
])
def test_integers_beyond_int64_on_the_command_line_exit_2(tmp_path, args, message):
    _refused(cli.invoke(app, [*args, "-o", str(tmp_path / "out")]), message)
    assert not (tmp_path / "out").exists()


def test_a_deeply_nested_toml_is_a_clean_error(tmp_path):
    deep = tmp_path / "deep.toml"
    deep.write_text('name = "d"\nprotocol = "synthetic"\nmethod = "fedavg"\nparams = ' + "[" * 2000 + "]" * 2000 + "\n")
    _refused(cli.invoke(app, ["run", "--config", str(deep), "-o", str(tmp_path)]), "deep.toml: nests tables and arrays too deeply")
    deep.write_text('name = "d"\nprotocol = "synthetic"\nmethod = "fedavg"\n[params]\nx = ' + "[" * 40 + "]" * 40 + "\n")
    _refused(cli.invoke(app, ["configs", str(deep)]), "levels deep; at most 32")


def test_reproduce_dry_run_plans_a_large_toml_in_linear_time(tmp_path):
    rows = 2000
    lines = ['name = "big"', 'protocol = "synthetic"', "rounds = 1", "seeds = [0]", "[protocol_params]",
             *(f"{k} = {v}" for k, v in TINY.items())]
    for i in range(rows):
        lines += ["[[runs]]", f'name = "r{i}"', 'method = "fedavg"']
    study = tmp_path / "big.toml"
    study.write_text("\n".join(lines) + "\n")
    began = time.monotonic()
    planned = cli.invoke(app, ["reproduce", str(study), "--dry-run", "-o", str(tmp_path / "out")])
    assert planned.exit_code == 0 and f"{rows} rows x 1 seeds = {rows} runs" in planned.stderr, planned.output
    assert time.monotonic() - began < 40  # re-parsing the file per run took minutes


# ================================================================== 6. verify sets its own strictness
def _forged(record: dict, points: float, bytes_factor: float, cpu: str) -> dict:
    """+``points`` on every client and round, bytes x ``bytes_factor``, consistent everywhere, resealed."""
    forged = json.loads(json.dumps(record))
    running = dict.fromkeys(TOTAL_COUNTERS, 0)
    for entry in forged["rounds"]:
        entry["accuracy"]["per_client"] = [a + points for a in entry["accuracy"]["per_client"]]
        entry["accuracy"]["mean"] = sum(entry["accuracy"]["per_client"]) / len(entry["accuracy"]["per_client"])
        for client in entry["per_client"]:
            for prefix in ("bytes", "paper_bytes"):
                for part in ("up", "down", "peer"):
                    client[f"{prefix}_{part}"] = round(client[f"{prefix}_{part}"] * bytes_factor)
                client[f"{prefix}_total"] = sum(client[f"{prefix}_{p}"] for p in ("up", "down", "peer"))
        running = {k: running[k] + sum(c[k] for c in entry["per_client"]) for k in TOTAL_COUNTERS}
        entry["cumulative"] = dict(running)
    forged["totals"] = totals_from_rounds(forged["rounds"])
    forged["environment"]["cpu"] = cpu
    return seal(forged)


def test_verify_fails_a_consistent_forgery_that_claims_another_cpu(tmp_path):
    record = run_tiny(tmp_path, rounds=2, test_per_client="200")  # 1.5 points is 3 whole test samples
    (entry,) = tmp_path.glob("*.json")
    elsewhere = seal({**record, "environment": {**record["environment"], "cpu": "Another CPU"}})
    entry.write_text(json.dumps(elsewhere))
    genuine = verify_entry(entry, load_record(entry))  # positive control: claims another CPU, still passes
    assert genuine.ok and genuine.mode == "bit-identical", genuine.differences
    entry.write_text(json.dumps(_forged(record, 1.5, 0.985, "Another CPU")))
    forged = load_record(entry)  # passes every static check
    verdict = verify_entry(entry, forged)
    assert not verdict.ok and verdict.mode.startswith("tolerance")
    assert any(d.startswith("round 1: bytes_total is") and "exact function of the configuration" in d
               for d in verdict.differences), verdict.differences
    assert any("round 1: the mean accuracy over clients is 1.50 points above" in d for d in verdict.differences)


def test_platform_drift_passes_within_a_stated_tolerance(tmp_path):
    rerun = run_tiny(tmp_path, rounds=2, test_per_client="200")
    claimed = json.loads(json.dumps(rerun))  # what another platform gave: one sample in round 1, then far apart
    claimed["rounds"][0]["accuracy"]["per_client"][0] += 0.5
    claimed["rounds"][1]["accuracy"]["per_client"] = [a + (15 if a < 85 else -15) for a in
                                                      claimed["rounds"][1]["accuracy"]["per_client"]]
    assert compare(claimed, rerun, identical=False) == []
    assert mark(claimed, rerun).startswith("within tolerance: round 1 accuracy up to 0.50 points per client")
    assert "later rounds' accuracies not compared" in mark(claimed, rerun)
    assert mark(rerun, rerun) == "bit-identical"
    assert compare(claimed, rerun, identical=True) != []  # a record claiming this platform must be bit-identical
    claimed["rounds"][1]["accuracy"]["per_client"][0] += 0.25  # not a whole number of 200 samples
    assert any("not a whole number" in d for d in compare(claimed, rerun, identical=False))
    claimed["rounds"][1]["accuracy"]["per_client"][0] -= 0.25
    claimed["rounds"][0]["accuracy"]["per_client"][1] += 4.5  # round 1 beyond 4 points, the mean beyond 1.2
    found = compare(claimed, rerun, identical=False)
    assert any(d.startswith("round 1: client 1 accuracy") for d in found)
    assert any(d.startswith("round 1: the mean accuracy over clients is 2.50 points above") for d in found)
    for record in (claimed, rerun):  # a method that drifts within round 1 (SplitFed: measured 11.8 points)
        record["config"] = {**record["config"], "method": "splitfed"}
    assert compare(claimed, rerun, identical=False) == []
    claimed["rounds"][0]["cumulative"]["bytes_up"] += 4  # its dense bytes are still exact
    assert any("bytes_up" in d and "exact" in d for d in compare(claimed, rerun, identical=False))


CROSS_PLATFORM = json.loads((REPO / "tests" / "golden" / "cross_platform.json").read_text())


@pytest.mark.parametrize("name", sorted(CROSS_PLATFORM))
def test_real_cross_platform_reruns_pass_and_their_forgeries_do_not(name):
    """The committed entries made on an Intel Xeon against their first rounds re-run on an AMD EPYC
    (benchmarks/cross_platform_drift.py): genuine drift passes, +1.5 points and bytes -1.5% do not. The
    claim is kept in the golden file, cut to the re-run's rounds: a board may since have replaced the entry."""
    kept = CROSS_PLATFORM[name]
    entry = kept["claimed"]
    assert kept["made_on"] != kept["rerun_on"] == "AMD EPYC" and entry["environment"]["cpu"] == kept["made_on"]
    assert len(entry["rounds"]) == len(kept["rounds"])
    rerun = {**entry, "config": kept["config"], "data": kept["data"], "status": kept["status"], "rounds": kept["rounds"]}
    claimed = {**entry, "status": kept["status"]}
    assert not bit_identical(claimed, rerun)
    assert compare(claimed, rerun, identical=False) == []
    assert mark(claimed, rerun).startswith("within tolerance")
    forged = _forged(claimed, 1.5, 0.985, "Another CPU")
    assert compare(forged, rerun, identical=False) != []


# ================================================================== 7. two submits at once
def test_two_submits_at_once_leave_a_board_that_check_accepts(records, boards):
    command = [sys.executable, "-c", "from c3bench.cli import main; main()", "submit", "--board-dir", str(boards)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    running = [subprocess.Popen([*command, str(r)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
               for r in records]
    outcomes = [p.communicate(timeout=300) for p in running]
    assert all(p.returncode == 0 for p in running), [o[1].decode()[-500:] for o in outcomes]
    assert len(list((boards / "synthetic" / "entries").iterdir())) == len(records)
    boards_found, problems = check(boards, recompute_data=False)
    assert problems == [], [str(p) for p in problems]
