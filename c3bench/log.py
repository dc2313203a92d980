"""c3bench's messages go through Python ``logging``, under the logger ``c3bench``.

The command line shows them on stderr (:func:`configure` with ``c3bench.console.ConsoleHandler``): info and above by default, warnings and
errors only with ``c3bench -q``, debug too with ``c3bench -v``. A program (or a cluster's log
collection) attaches its own handlers to ``logging.getLogger("c3bench")`` or to the root logger; the
library installs none, so from Python only warnings reach stderr until a handler is added.

Messages are plain text (no markup): the console handler colours them by level only, and any
handler elsewhere gets them as written.
"""

from __future__ import annotations

import logging
import warnings

log = logging.getLogger("c3bench")

def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    log.warning(str(message))


def configure(handler: logging.Handler, verbosity: int = 0) -> None:
    """Show c3bench's messages through ``handler`` (the command line's: ``c3bench.console.ConsoleHandler``),
    installed once: ``verbosity`` -1 warnings and errors, 0 info, 1 debug. Python warnings raised by
    c3bench and its libraries become one-line warnings too."""
    level = logging.WARNING if verbosity < 0 else logging.DEBUG if verbosity > 0 else logging.INFO
    if not any(type(h) is type(handler) for h in log.handlers):
        log.addHandler(handler)
    log.setLevel(level)
    warnings.showwarning = _show_warning


def quiet_level() -> bool:
    """Whether only warnings and errors are shown (``c3bench -q``)."""
    return log.getEffectiveLevel() > logging.INFO
