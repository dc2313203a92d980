"""`c3bench plot tradeoff|curves`: figures from result records (PNG, SVG or PDF by the file suffix)."""

from __future__ import annotations

from pathlib import Path

import typer

from c3bench.console import PathFormat, format_option, json_option, out, output_format
from c3bench.log import log


def _wrote(path: Path, records: int, fmt: str) -> None:
    """The figure's path on stdout (or as JSON), a line on stderr."""
    import json

    log.info(f"wrote {path} from {records} record{'s' if records != 1 else ''}")
    if fmt == "json":
        out.print_json(json.dumps({"figure": str(path), "records": records}))
    else:
        print(path)


def register(app: typer.Typer) -> None:
    from c3bench.console import load_records, user_errors
    from c3bench.hparams import ConfigError

    plot_app = typer.Typer(help="Draw figures from result records: plot tradeoff results/ -o fig.png, plot curves "
                                "results/ -o curves.pdf.", no_args_is_help=True)
    app.add_typer(plot_app, name="plot")

    def _check(out: Path, convention: str) -> None:
        from c3bench.plots import FORMATS
        from c3bench.score import CONVENTIONS

        if out.suffix.lower() not in FORMATS:
            raise ConfigError(f"-o must end in {', '.join(FORMATS)}, got '{out.name}'.")
        if convention not in CONVENTIONS:
            raise ConfigError(f"--convention must be one of {', '.join(CONVENTIONS)}.")

    @plot_app.command("tradeoff")
    @user_errors
    def tradeoff(
        files: list[Path] = typer.Argument(..., help="Result records or folders of them (results/, searched "
                                           "recursively); '-' reads file names from stdin."),
        out_file: Path = typer.Option(Path("tradeoff.png"), "--out", "-o", help="Output file: .png, .svg or .pdf."),
        convention: str = typer.Option("c3bench", help="c3bench (bytes as sent, fwd+bwd FLOPs) or paper."),
        vary: str | None = typer.Option(None, help="Join runs differing only in one of these hyperparameters "
                                        "into curves (comma-separated, e.g. kappa,eta; 'rounds' only when named); "
                                        "default: the method's key hyperparameters."),
        iso: bool = typer.Option(False, "--iso", help="Draw C3 iso-lines."),
        iso_levels: str | None = typer.Option(None, help="C3 levels for the iso-lines, e.g. 0.3,0.5 (implies --iso)."),
        bmax: float | None = typer.Option(None, help="Bmax in GB for the iso-lines (default: the largest)."),
        cmax: float | None = typer.Option(None, help="Cmax in TFLOPs for the iso-lines (default: the largest)."),
        temperature: float = typer.Option(8.0, "--temperature", "-T", help="C3 temperature for the iso-lines."),
        min_seeds: int | None = typer.Option(None, "--min-seeds", help="Mark configurations with fewer seeds as "
                                             "provisional (hollow markers, seed count in the label)."),
        title: str | None = typer.Option(None, help="Figure title (default: what it plots; with --config, the title "
                                         "a board gives its declared figure of those rows)."),
        configs: list[str] = typer.Option([], "--config", help="Only records that are rows of this reproduction "
                                          "configuration (repeatable; see `c3bench reproduce --list`), whichever "
                                          "table they were run for."),
        fmt: PathFormat | None = format_option(PathFormat, PathFormat.path),
        as_json: bool = json_option(),
    ) -> None:
        """Accuracy vs. bandwidth and vs. client compute (log axes), mean ± std over seeds, Pareto front;
        prints the figure's path on stdout.

        Examples:
        c3bench plot tradeoff results/ -o tradeoff.png --iso
        c3bench plot tradeoff leaderboards/mixed-noniid/entries --config adasplit-table1 --config adasplit-table5
          --vary kappa --convention paper -o figure1.png   # the AdaSplit paper's Figure 1 from the board
        """
        from c3bench.plots import save, tradeoff_figure
        from c3bench.series import check_vary

        chosen = output_format(fmt, as_json, PathFormat.path)
        _check(out_file, convention)
        levels = None
        if iso_levels:
            try:
                levels = [float(v) for v in iso_levels.split(",") if v.strip()]
            except ValueError:
                raise ConfigError(f"--iso-levels expects numbers like 0.3,0.5, got {iso_levels!r}.") from None
        elif iso:
            levels = []
        if temperature <= 0 or (bmax is not None and bmax <= 0) or (cmax is not None and cmax <= 0):
            raise ConfigError("--temperature, --bmax and --cmax must be positive.")
        if min_seeds is not None and min_seeds < 1:
            raise ConfigError(f"--min-seeds must be at least 1, got {min_seeds}.")
        records = load_records(files)
        varied = [v.strip() for v in vary.split(",")] if vary else None
        if configs:
            from c3bench.reproduce import rows_of

            records = rows_of(configs, records)
            if not records:
                raise ConfigError(f"none of these records is a row of {', '.join(configs)}; `c3bench reproduce NAME "
                                  "--report -o FOLDER` shows which rows have records there.")
            if title is None:  # as a board titles its declared figure of these rows
                from c3bench.board import rows_figure_title

                protocols = ", ".join(sorted({r["config"]["protocol"] for _, r in records}))
                title = rows_figure_title(protocols, configs, varied or [], convention)
        try:
            if varied:
                check_vary(varied, {k for _, r in records for k in r["config"]["method_params"]}, "these records")
            fig = tradeoff_figure(records, convention, varied, levels, bmax, cmax, temperature, title,
                                  min_seeds=min_seeds)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        _wrote(save(fig, out_file), len(records), chosen)

    @plot_app.command("curves")
    @user_errors
    def curves(
        files: list[Path] = typer.Argument(..., help="Result records or folders of them (results/, searched "
                                           "recursively); '-' reads file names from stdin."),
        out_file: Path = typer.Option(Path("curves.png"), "--out", "-o", help="Output file: .png, .svg or .pdf."),
        convention: str = typer.Option("c3bench", help="Bytes as sent (c3bench) or non-zeros×4 (paper)."),
        title: str | None = typer.Option(None, help="Figure title."),
        fmt: PathFormat | None = format_option(PathFormat, PathFormat.path),
        as_json: bool = json_option(),
    ) -> None:
        """Accuracy against round and against cumulative bytes, mean over seeds with a ±1 std band; prints
        the figure's path on stdout.

        All records must be of one protocol (curves of different protocols do not share axes).

        Example: c3bench plot curves results/fedavg_*.json results/adasplit_*.json -o curves.pdf
        """
        from c3bench.plots import curves_figure, save

        chosen = output_format(fmt, as_json, PathFormat.path)
        _check(out_file, convention)
        records = load_records(files)
        try:
            fig = curves_figure(records, convention, title)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        _wrote(save(fig, out_file), len(records), chosen)
