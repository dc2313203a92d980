"""Downloads against a local HTTP server serving the real files, and the missing-data error."""

from __future__ import annotations

import hashlib
import http.server
import shutil
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from typer.testing import CliRunner

from c3bench.cli import app
from c3bench.data import progress
from c3bench.data.datasets import load_dataset
from c3bench.data.download import ChecksumError, DownloadError, RemoteFile, fetch
from c3bench.hparams import ConfigError
from c3bench.registry import DATASETS
from tests.conftest import require_data

LABELS = "MNIST/raw/t10k-labels-idx1-ubyte.gz"
LABELS_MD5 = "ec29112dd5afa0611ce80d1b7f02629c"


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder, honours ``Range: bytes=N-``, and can drop the first full response halfway."""

    truncate_first: set[str]
    seen: list[tuple[str, str | None]]

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path = Path(self.translate_path(self.path))
        self.seen.append((self.path, self.headers.get("Range")))
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        start = 0
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
            if start >= len(data):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.path in self.truncate_first and not rng:
            self.truncate_first.discard(self.path)
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path, _Handler]]:
    """A server on 127.0.0.1 over a folder holding copies of real files (and a corrupted one)."""
    shared = require_data("MNIST/raw")
    root = tmp_path / "served"
    shutil.copytree(shared / "MNIST", root / "MNIST")
    corrupt = root / "corrupt" / LABELS
    corrupt.parent.mkdir(parents=True)
    data = bytearray((shared / LABELS).read_bytes())
    data[len(data) // 2] ^= 0xFF
    corrupt.write_bytes(bytes(data))
    handler = type("Handler", (_Handler,), {"truncate_first": set(), "seen": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", root, handler
    finally:
        httpd.shutdown()
        httpd.server_close()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file())


def test_a_real_file_is_downloaded_and_verified(server, tmp_path, capfd):
    url, _, _ = server
    dest = tmp_path / "data"
    events = []
    with progress.reporting(events.append):
        path = fetch(RemoteFile(LABELS, (f"{url}/{LABELS}",), md5=LABELS_MD5), dest)
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""  # the data layer never prints
    assert path == dest / LABELS
    assert hashlib.md5(path.read_bytes()).hexdigest() == LABELS_MD5
    assert _leftovers(dest) == ["t10k-labels-idx1-ubyte.gz"]  # no .part left behind
    size = path.stat().st_size
    downloading = [(e.done, e.total) for e in events if e.stage == "downloading"]
    assert downloading[0] == (0, size) and downloading[-1] == (size, size)
    verifying = [e for e in events if e.stage == "verifying"]
    assert verifying[-1].subject == LABELS and verifying[-1].finished and verifying[-1].unit == "bytes"
    assert [e.stage for e in events].index("verifying") > [e.stage for e in events].index("downloading")


def test_a_corrupted_file_is_rejected_and_not_kept(server, tmp_path):
    url, _, _ = server
    dest = tmp_path / "data"
    remote = RemoteFile(LABELS, (f"{url}/corrupt/{LABELS}",), md5=LABELS_MD5)
    with pytest.raises(ChecksumError, match="md5"):
        fetch(remote, dest)
    assert _leftovers(dest) == []  # neither the file nor its .part
    # the next source in the list is tried after a bad one
    good = RemoteFile(LABELS, (f"{url}/corrupt/{LABELS}", f"{url}/{LABELS}"), md5=LABELS_MD5)
    assert fetch(good, dest).is_file()


def test_an_interrupted_download_is_not_valid_and_resumes_with_range(server, tmp_path):
    url, _, handler = server
    name = "MNIST/raw/t10k-images-idx3-ubyte.gz"
    handler.truncate_first.add(f"/{name}")
    dest = tmp_path / "data"
    remote = RemoteFile(name, (f"{url}/{name}",), md5="9fb629c4189551a2d022fa330f9573f3")
    with pytest.raises(DownloadError, match="dropped"):
        fetch(remote, dest)
    assert not (dest / name).exists()  # a half-written file never gets the final name
    part = dest / (name + ".part")
    partial_size = part.stat().st_size
    assert 0 < partial_size < 1_648_877
    load_error = None
    try:
        load_dataset("mnist", dest, download=False)
    except ConfigError as exc:
        load_error = str(exc)
    assert load_error is not None and "t10k-images-idx3-ubyte" in load_error
    fetch(remote, dest)
    assert hashlib.md5((dest / name).read_bytes()).hexdigest() == remote.md5
    ranges = [r for p, r in handler.seen if p == f"/{name}"]
    assert ranges == [None, f"bytes={partial_size}-"]  # the second request resumed, not restarted
    assert not part.exists()


def test_load_dataset_downloads_missing_files_from_a_mirror(server, tmp_path, monkeypatch):
    url, _, _ = server
    monkeypatch.setenv("C3BENCH_MIRROR", url)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("C3BENCH_CACHE", raising=False)
    monkeypatch.delenv("C3BENCH_OFFLINE", raising=False)
    root = tmp_path / "fresh"
    data = load_dataset("mnist", root)
    assert len(data.splits["train"]) == 60_000 and len(data.splits["test"]) == 10_000
    for remote in DATASETS.get("mnist").remote:
        assert hashlib.md5((root / remote.path).read_bytes()).hexdigest() == remote.md5
    assert not (root / ".c3bench-cache").exists()  # the tensor cache stays out of the data root
    assert list((tmp_path / "xdg" / "c3bench" / "tensors").glob("mnist-*.pt"))


def test_fetch_reports_an_unreachable_source(tmp_path):
    remote = RemoteFile("x.bin", ("http://127.0.0.1:9/x.bin",), size=10)
    with pytest.raises(DownloadError, match="cannot connect"):
        fetch(remote, tmp_path, timeout=5)
    assert _leftovers(tmp_path) == []


def test_missing_dataset_gives_one_message_with_files_paths_and_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("C3BENCH_OFFLINE", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    root = tmp_path / "empty"
    root.mkdir()
    with pytest.raises(ConfigError) as info:
        load_dataset("cifar10", root)
    message = str(info.value)
    for expected in ("cifar-10-batches-py", "data_batch_1", "CIFAR-10-images/train.tar", str(root),
                     str(tmp_path / "xdg" / "c3bench"), "--data-root", "C3BENCH_DATA", "C3BENCH_OFFLINE",
                     "cifar-10-python.tar.gz"):
        assert expected in message, expected


def test_a_partial_dataset_names_exactly_the_missing_files(tmp_path, monkeypatch):
    shared = require_data("MNIST/raw")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    raw = tmp_path / "root" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        shutil.copy(shared / "MNIST" / "raw" / name, raw / name)
    with pytest.raises(ConfigError) as info:
        load_dataset("mnist", tmp_path / "root", download=False)
    message = str(info.value)
    assert "t10k-images-idx3-ubyte" in message and "t10k-labels-idx1-ubyte" in message
    assert "missing there: MNIST/raw/train" not in message


def test_cli_run_without_data_exits_2_with_the_message(tmp_path, monkeypatch):
    monkeypatch.setenv("C3BENCH_OFFLINE", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    result = CliRunner().invoke(app, ["run", "-m", "fedavg", "-p", "mixed-cifar", "--rounds", "1", "-q",
                                      "--data-root", str(tmp_path / "nothing"), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "cifar10" in result.output and "--data-root" in result.output


def test_a_protocol_needing_several_missing_datasets_names_them_all_at_once(tmp_path, monkeypatch):
    monkeypatch.setenv("C3BENCH_OFFLINE", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    from c3bench.registry import get_protocol

    with pytest.raises(ConfigError) as info:
        get_protocol("mixed-noniid")().build({}, 0, tmp_path / "nothing")
    message = str(info.value)
    for name in ("cifar100", "cifar10", "fashion-mnist", "mnist", "notmnist"):
        assert f"dataset '{name}'" in message


def test_load_dataset_rejects_a_wrong_archive_from_a_mirror_and_keeps_nothing(server, tmp_path, monkeypatch):
    url, served, _ = server
    (served / "cifar-10-python.tar.gz").write_bytes(b"\x1f\x8b" + b"not the real archive" * 100)
    monkeypatch.setenv("C3BENCH_MIRROR", url)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("C3BENCH_OFFLINE", raising=False)
    root = tmp_path / "fresh"
    remote = DATASETS.get("cifar10").remote[0]
    # only the mirror is tried here: the canonical source is swapped for an unreachable local port
    spec = DATASETS.get("cifar10")
    swapped = type(spec)(**{**spec.__dict__, "remote": (
        RemoteFile(remote.path, ("http://127.0.0.1:9/cifar-10-python.tar.gz",), md5=remote.md5, size=remote.size),)})
    with DATASETS.patched("cifar10", swapped), pytest.raises(ConfigError) as info:
        load_dataset("cifar10", root)
    assert "rejected" in str(info.value) and "size" in str(info.value)
    assert not root.exists()  # neither files nor the folders made for them
