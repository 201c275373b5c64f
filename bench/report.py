"""Figures of both systems side by side, with the ratio that says how much better
cinderblock does, as a text table and as JSON-ready data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Figure", "advantage", "format_table", "format_value"]

NA = "n/a"


@dataclass
class Figure:
    """One measured quantity for every system; a missing value (None) prints as n/a."""

    key: str
    label: str
    unit: str
    lower_is_better: bool
    values: dict[str, float | None] = field(default_factory=dict)

    def as_dict(self, baseline: str, candidate: str) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "unit": self.unit,
                "lower_is_better": self.lower_is_better, "values": self.values,
                "advantage": advantage(self, baseline, candidate)}


def advantage(figure: Figure, baseline: str, candidate: str) -> float | None:
    """How many times better ``candidate`` does than ``baseline``: >1 is better whichever
    way the unit points (a time divides baseline by candidate, a rate the other way)."""
    base = figure.values.get(baseline)
    cand = figure.values.get(candidate)
    if base is None or cand is None:
        return None
    numerator, denominator = (base, cand) if figure.lower_is_better else (cand, base)
    if denominator <= 0:
        return None
    return numerator / denominator


def format_value(value: float | None) -> str:
    """Three significant figures at most, no exponent: figures span 0.5 ms to 1,300 MiB."""
    if value is None:
        return NA
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def format_table(figures: list[Figure], baseline: str, candidate: str) -> str:
    header = ["figure", "unit", baseline, candidate, f"{candidate} advantage"]
    rows = [header]
    for figure in figures:
        ratio = advantage(figure, baseline, candidate)
        rows.append([figure.label, figure.unit,
                     format_value(figure.values.get(baseline)),
                     format_value(figure.values.get(candidate)),
                     NA if ratio is None else f"{format_value(ratio)}x"])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for n, row in enumerate(rows):
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
        cells += [cell.rjust(width) for cell, width in zip(row[2:], widths[2:], strict=True)]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
