"""Progress of the data layer, reported through a callback instead of printed.

The data layer never prints: it reports :class:`Event` objects to the callback installed with
:func:`reporting` (a context variable, so nested or concurrent loads in other contexts are not
mixed up). Without a callback, reporting costs a context-variable lookup.

Stages and their subjects (``done``/``total`` in ``unit``):

===============  ============================  =========================================
stage            subject                       measure
===============  ============================  =========================================
downloading      file, relative to its root    bytes (total None when the server omits it)
verifying        file (md5 against its table)  bytes
extracting       archive                       0/1, then 1/1
reading          dataset                       0/1, then 1/1 (the whole decode)
decoding         image file or tar             images
building cache   dataset                       0/1, then 1/1 (writing the tensor entry)
loading cache    dataset                       0/1, then 1/1 (memory-map and checksum)
===============  ============================  =========================================

Each measured sequence starts with ``done == 0`` and ends with ``done == total`` when it completes;
``Event.dataset`` names the dataset being loaded (empty outside :func:`load_dataset`).

    from c3bench.data import progress
    with progress.reporting(lambda e: print(e.stage, e.subject, e.done, e.total)):
        load_dataset("cifar10", root)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Event:
    """One progress report: ``stage`` of ``subject``, ``done`` of ``total`` ``unit``."""

    stage: str
    subject: str
    done: int = 0
    total: int | None = None
    unit: str = ""
    dataset: str = ""

    @property
    def finished(self) -> bool:
        return self.total is not None and self.done >= self.total


Callback = Callable[[Event], None]

_callback: ContextVar[Callback | None] = ContextVar("c3bench_data_progress", default=None)
_dataset: ContextVar[str] = ContextVar("c3bench_data_dataset", default="")


@contextmanager
def reporting(callback: Callback | None) -> Iterator[None]:
    """Send the data layer's progress events to ``callback`` inside the block (None: to nobody)."""
    token = _callback.set(callback)
    try:
        yield
    finally:
        _callback.reset(token)


@contextmanager
def about(dataset: str) -> Iterator[None]:
    """Tag the events reported inside the block with ``dataset``."""
    token = _dataset.set(dataset)
    try:
        yield
    finally:
        _dataset.reset(token)


def active() -> bool:
    """True when a callback listens."""
    return _callback.get() is not None


def report(stage: str, subject: str, done: int = 0, total: int | None = None, unit: str = "") -> None:
    """Send one event to the current callback, if any."""
    callback = _callback.get()
    if callback is not None:
        callback(Event(stage, subject, done, total, unit, _dataset.get()))


@contextmanager
def step(stage: str, subject: str) -> Iterator[None]:
    """Report a stage without a measure: 0/1 on entry, 1/1 when the block completes."""
    report(stage, subject, 0, 1)
    yield
    report(stage, subject, 1, 1)


class Counter:
    """Counts a measured stage and reports it about a hundred times at most (plus start and end)."""

    def __init__(self, stage: str, subject: str, total: int | None, unit: str = "", done: int = 0):
        self.stage, self.subject, self.total, self.unit = stage, subject, total, unit
        self.done = self._reported = done
        self._every = max(1, (total or 0) // 100) if total else 1 << 20
        self._on = active()
        if self._on:
            report(stage, subject, done, total, unit)

    def advance(self, amount: int = 1) -> None:
        """Count ``amount`` more units; report when enough have passed or the total is reached."""
        self.done += amount
        if self._on and (self.done - self._reported >= self._every or self.done == self.total):
            self._reported = self.done
            report(self.stage, self.subject, self.done, self.total, self.unit)

    def close(self) -> None:
        """Report the final count (when not already reported); the total becomes the count."""
        if self._on and (self._reported != self.done or self.total != self.done):
            self.total = self.done
            self._reported = self.done
            report(self.stage, self.subject, self.done, self.total, self.unit)
