"""c3bench from Python (a notebook, a script): run a configuration and get its record, load records,
score them. A record is the JSON result as a dict (see README, "Result records").

    import c3bench
    record = c3bench.run("fedavg", "synthetic", rounds=2, num_clients=2, train_per_client=64)
    records = c3bench.load("results/")              # files, folders (recursively) or glob patterns
    table = c3bench.scores(records)                 # list of rows (dicts), best C3 first
    frame = c3bench.scores(records, as_frame=True)  # a pandas DataFrame (pip install 'c3bench[pandas]')
    record = c3bench.run("fedavg", "synthetic", save_model=True)
    models = c3bench.load_model(record)             # one module per client, ready to predict
"""

from __future__ import annotations

import glob
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from c3bench.callbacks import Callbacks

Record = dict[str, Any]


def run(method: str | None = None, protocol: str | None = None, *, config: str | None = None,
        rounds: int | None = None, seed: int = 0, out: str | Path = "results", data_root: str | Path | None = None,
        backbone: str | None = None, budget_bandwidth: str | float | None = None,
        budget_compute: str | float | None = None, name: str | None = None, resume: bool = False,
        force: bool = False, charge_inference: bool = False, client_workers: int = 1, stack_clients: bool = False,
        device: str = "cpu", save_model: bool = False, callbacks: Callbacks | Iterable[Callbacks] | None = None,
        **params: Any) -> Record:
    """Train one configuration and return its sealed record (also written to ``out``).

    ``params`` are hyperparameters of the method or the protocol (``lr=0.01``, ``num_clients=3``;
    ``method__lr`` / ``protocol__seed_x`` when a name exists in both). Budgets take quantities with a
    unit ("3GB", "20Mb" = megabits, "5TFLOP") or plain numbers of bytes and FLOPs. ``device`` is a torch
    device; ``client_workers`` and ``stack_clients`` are ``c3bench run``'s ``--client-workers`` and
    ``--stack-clients``. ``save_model`` also writes the deployed models (:func:`load_model` reads them);
    ``callbacks`` (:class:`c3bench.callbacks.Callbacks`, e.g. a :class:`c3bench.trackers.TensorBoardTracker`)
    follow the run. A run that already finished in ``out`` is not run again: its record is returned
    (``force=True`` runs it again). Raises ``c3bench.hparams.ConfigError`` for a bad configuration.
    """
    from c3bench.accounting.ledger import Budgets
    from c3bench.runner import Runner, RunSpec, resolve

    budgets = Budgets.parse(budget_bandwidth, budget_compute)
    overrides = {key.replace("__", "."): value for key, value in params.items()}
    spec = RunSpec(method=method, protocol=protocol or (None if config else "synthetic"), config=config,
                   overrides=overrides, rounds=rounds, seed=seed, budgets=budgets, backbone=backbone,
                   data_root=str(data_root) if data_root is not None else None, name=name,
                   charge_inference=charge_inference, client_workers=client_workers,
                   stack_clients=stack_clients, device=device)
    runner = Runner(resolve(spec), out, callbacks, save_model=save_model)
    record = runner.execute(resume=resume, overwrite=force)
    if runner.reused and save_model and "models" not in record:
        from c3bench.log import log

        log.warning(f"{runner.result_file} had already finished without saving its models; run it again with "
                    "force=True to save them.")
    return record


def load(paths: str | Path | Iterable[str | Path]) -> list[Record]:
    """Records from files, folders (every result record below one) or glob patterns ("results/*.json");
    each is checked as c3bench reads any record (``c3bench.results.ResultError`` names a file that is
    malformed or was edited)."""
    from c3bench.console import result_files
    from c3bench.results import load_record

    items = [paths] if isinstance(paths, str | Path) else list(paths)
    files: list[str] = []
    for item in items:
        text = str(item)
        files += sorted(glob.glob(text)) if any(c in text for c in "*?[") else [text]
    return [load_record(f) for f in result_files(files)] if files else []


def load_model(record: Record | str | Path, folder: str | Path | None = None, device: str = "cpu") -> list:
    """The deployed models a run saved with ``save_model=True`` / ``--save-model``: one module per client
    (in client order; clients deploying the same weights share one), in eval mode, taking normalised
    images (``model(x)``) or uint8 images (``model.predict_images(x)``) and returning logits.

    ``record``: a result file, or a record dict whose ``models/`` folder is under ``folder`` (default:
    the file's folder, else "results"). Every file is checked against the sha256 in the record and
    read with ``torch.load(weights_only=True)``. See :mod:`c3bench.deployed`.
    """
    from c3bench.deployed import load_model as load

    return load(record, folder, device)


def scores(records: Iterable[Record | str | Path], bmax: float | None = None, cmax: float | None = None,
           temperature: float = 8.0, convention: str = "c3bench", as_frame: bool = False):
    """The C3 table of records (or paths): runs that differ only in seed grouped, best C3 first within
    each protocol and protocol parameters.

    Returns a list of rows (dicts: method, params, settings, protocol, protocol_params, seeds, rounds,
    accuracy_mean, accuracy_std (None for one seed), ..., bandwidth_gb, client_tflops, c3), or a pandas
    DataFrame with ``as_frame=True``. Bmax and Cmax default, per protocol and protocol parameters, to
    the largest among the records (as the paper's tables do).
    """
    from c3bench.score import score_blocks

    loaded = [(str(r), load(r)[0]) if isinstance(r, str | Path) else (r.get("name", "record"), r) for r in records]
    rows: list[dict[str, Any]] = []
    for block in score_blocks(loaded, bmax, cmax, temperature, convention):
        rows += [{**row.as_dict(), "protocol_params": block.protocol_params, "bmax_gb": block.scale["bmax_gb"],
                  "cmax_tflops": block.scale["cmax_tflops"], "temperature": temperature, "convention": convention}
                 for row in block.rows]
    if not as_frame:
        return rows
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("scores(..., as_frame=True) needs pandas: pip install 'c3bench[pandas]'") from None
    return pd.DataFrame(rows)
