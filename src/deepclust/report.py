"""The report stage: figures and a Markdown report from the summary table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from deepclust import io, paths, plots
from deepclust.evaluate import markdown_table


def report(summary_csv: Path, out_dir: Path) -> None:
    """Figures and a Markdown report from the summary."""
    summary = pd.read_csv(summary_csv)
    out_dir = Path(out_dir)
    figure = out_dir / "figures" / Path(paths.METRICS_FIGURE).name
    plots.metrics_figure(summary, figure)
    text = (
        "# deepclust results\n\n"
        + markdown_table(summary)
        + f"\n![metrics per algorithm]({figure.relative_to(out_dir)})\n"
    )
    io.write_text(out_dir / Path(paths.REPORT).name, text)
