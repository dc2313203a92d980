"""Experiment trackers on the runner's callbacks (:mod:`c3bench.callbacks`).

:class:`TensorBoardTracker` writes TensorBoard event files, offline, one folder per run
(``LOGDIR/<run name>``): every round's accuracy, bytes, FLOPs and times as scalars (step = round),
the configuration as hyperparameters (TensorBoard's HParams tab, whose metrics are those scalars) and
as text. ``c3bench run --tensorboard runs/`` attaches it; from Python::

    c3bench.run("fedavg", "synthetic", callbacks=[TensorBoardTracker("runs")])

then ``tensorboard --logdir runs``. It needs the ``tensorboard`` package (``pip install
'c3bench[tensorboard]'``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from c3bench.callbacks import Callbacks, round_metrics
from c3bench.hparams import ConfigError

TENSORBOARD_HINT = "pip install 'c3bench[tensorboard]'"
# scalar tags, grouped as TensorBoard shows them
TAGS = {
    "accuracy": "accuracy/deployed", "local_accuracy": "accuracy/local",
    "bytes_total": "bytes/total", "bytes_up": "bytes/up", "bytes_down": "bytes/down", "bytes_peer": "bytes/peer",
    "client_flops": "flops/client", "server_flops": "flops/server", "total_flops": "flops/total",
    "sim_time_s": "time/simulated_s", "wall_s": "time/wall_s",
}


def flat_config(config: dict[str, Any]) -> dict[str, bool | int | float | str]:
    """A record's configuration as flat ``name -> value`` hyperparameters (``method_params.lr``,
    ``budgets.bandwidth_bytes``); values TensorBoard cannot hold (None, lists) become text."""
    flat: dict[str, bool | int | float | str] = {}

    def put(name: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                put(f"{name}.{key}" if name else str(key), sub)
        elif isinstance(value, bool | int | float | str):
            flat[name] = value
        else:
            flat[name] = "none" if value is None else json.dumps(value, sort_keys=True)

    put("", config)
    return flat


class TensorBoardTracker(Callbacks):
    """TensorBoard event files for each run, under ``log_dir/<run name>``."""

    def __init__(self, log_dir: str | Path):
        self.log_dir = Path(log_dir)
        self.writer = None
        self._summaries = None

    @staticmethod
    def check_installed() -> None:
        """Raise ConfigError (what to install) when tensorboard is missing, before a run starts."""
        try:
            import tensorboard  # noqa: F401
        except ImportError:
            raise ConfigError(f"--tensorboard needs the tensorboard package: {TENSORBOARD_HINT}") from None

    def on_start(self, run, start_round: int) -> None:
        self.check_installed()
        from torch.utils.tensorboard import SummaryWriter
        from torch.utils.tensorboard.summary import hparams

        # a resumed run drops events past the round it resumes from, so a round is never logged twice
        self.writer = SummaryWriter(log_dir=str(self.log_dir / run.name),
                                    purge_step=start_round + 1 if start_round else None)
        experiment, session_start, session_end = hparams(flat_config(run.config), {tag: 0.0 for tag in TAGS.values()})
        file_writer = self.writer._get_file_writer()
        for summary in (experiment, session_start):
            file_writer.add_summary(summary)
        self._summaries = session_end
        self.writer.add_text("config", f"```\n{json.dumps(run.config, indent=1, sort_keys=True)}\n```")

    def on_round(self, entry: dict[str, Any]) -> None:
        if self.writer is None:
            return
        for key, value in round_metrics(entry).items():
            self.writer.add_scalar(TAGS[key], value, entry["round"])
        self.writer.flush()

    def on_end(self, record: dict[str, Any]) -> None:
        if self.writer is None:
            return
        self.writer.add_text("status", record["status"])
        self.writer._get_file_writer().add_summary(self._summaries)
        self.writer.close()
        self.writer = None
