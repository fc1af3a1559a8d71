"""`pagelab run --summary`: the report's headline table and findings on the terminal (rich)."""

from __future__ import annotations

from typing import IO, Any

from pagelab.obs.findings import findings, headline
from pagelab.obs.recorder import Recording


def print_summary(
    stats: dict[str, Any], rec: Recording | None, out: IO[str], title: str = "", include_init: bool = False
) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=out, highlight=False, soft_wrap=False)
    table = Table(title=title or None, show_header=False, box=None, padding=(0, 1))
    table.add_column(style="bold", justify="right")
    table.add_column()
    for row in headline(stats, rec, include_init):
        table.add_row(row.name, row.text())
    console.print(table)
    for f in findings(stats, rec, include_init):
        console.print(f"• {f}", markup=False)
