"""c3bench's messages go through Python ``logging``, under the logger ``c3bench``.

The command line shows them on stderr (:func:`configure`): info and above by default, warnings and
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

_PREFIX = {logging.WARNING: ("warning: ", "yellow"), logging.ERROR: ("error: ", "bold red"),
           logging.CRITICAL: ("error: ", "bold red")}


class ConsoleHandler(logging.Handler):
    """Writes records on the command line's stderr console: warnings as ``warning: ...`` in yellow,
    errors as ``error: ...`` in red, debug dimmed; the text itself is never read as markup."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from rich.text import Text

            from c3bench.console import err

            prefix, style = _PREFIX.get(record.levelno, ("", ""))
            text = Text(prefix, style=style) if prefix else Text()
            text.append(self.format(record), style="dim" if record.levelno < logging.INFO else "")
            err.print(text, soft_wrap=True, highlight=False)
        except Exception:  # a broken stream must not take the run down
            self.handleError(record)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    log.warning(str(message))


def configure(verbosity: int = 0) -> None:
    """Show c3bench's messages on stderr: ``verbosity`` -1 warnings and errors, 0 info, 1 debug.
    Python warnings raised by c3bench and its libraries are shown as one-line warnings too."""
    level = logging.WARNING if verbosity < 0 else logging.DEBUG if verbosity > 0 else logging.INFO
    if not any(isinstance(h, ConsoleHandler) for h in log.handlers):
        log.addHandler(ConsoleHandler())
    log.setLevel(level)
    warnings.showwarning = _show_warning


def quiet_level() -> bool:
    """Whether only warnings and errors are shown (``c3bench -q``)."""
    return log.getEffectiveLevel() > logging.INFO
