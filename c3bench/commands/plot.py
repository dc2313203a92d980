"""`c3bench plot tradeoff|curves`: figures from result records (PNG, SVG or PDF by the file suffix)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    from c3bench.console import err, load_records, user_errors
    from c3bench.hparams import ConfigError

    plot_app = typer.Typer(help="Draw figures from result records.", no_args_is_help=True)
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
        files: list[Path] = typer.Argument(..., help="Result records (results/*.json)."),
        out: Path = typer.Option(Path("tradeoff.png"), "--out", "-o", help="Output file: .png, .svg or .pdf."),
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
        title: str | None = typer.Option(None, help="Figure title."),
    ) -> None:
        """Accuracy vs. bandwidth and vs. client compute (log axes), mean ± std over seeds, Pareto front.

        Example: c3bench plot tradeoff results/*.json -o tradeoff.png --iso
        """
        from c3bench.plots import save, tradeoff_figure

        _check(out, convention)
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
        try:
            fig = tradeoff_figure(records, convention, [v.strip() for v in vary.split(",")] if vary else None,
                                  levels, bmax, cmax, temperature, title, min_seeds=min_seeds)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        err.print(f"wrote {save(fig, out)}", markup=False)

    @plot_app.command("curves")
    @user_errors
    def curves(
        files: list[Path] = typer.Argument(..., help="Result records (results/*.json)."),
        out: Path = typer.Option(Path("curves.png"), "--out", "-o", help="Output file: .png, .svg or .pdf."),
        convention: str = typer.Option("c3bench", help="Bytes as sent (c3bench) or non-zeros×4 (paper)."),
        title: str | None = typer.Option(None, help="Figure title."),
    ) -> None:
        """Accuracy against round and against cumulative bytes, mean over seeds with a ±1 std band.

        All records must be of one protocol (curves of different protocols do not share axes).
        """
        from c3bench.plots import curves_figure, save

        _check(out, convention)
        records = load_records(files)
        try:
            fig = curves_figure(records, convention, title)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        err.print(f"wrote {save(fig, out)}", markup=False)
