"""Counters, gauges and histograms in the Prometheus text format, stdlib only.

Both the API and the storage agent expose metrics; the agent may import nothing beyond
the stdlib and kombu, so this is written here instead of depending on prometheus_client.
Updates are a dict lookup and a few additions: label values are tuples the caller
already has, and nothing is formatted until a scrape. Callers in threads take their own
lock (the API updates from its event loop only).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from typing import TypeVar

__all__ = ["Counter", "Gauge", "Histogram", "Registry", "LATENCY_BUCKETS", "CONTENT_TYPE"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    pairs = [f'{n}="{_escape(str(v))}"' for n, v in zip(names, values, strict=True)]
    if extra:
        pairs.append(extra)
    return "{" + ",".join(pairs) + "}" if pairs else ""


def _number(value: float) -> str:
    if value == float("inf"):
        return "+Inf"
    return repr(int(value)) if float(value).is_integer() else repr(float(value))


class _Family:
    kind = ""

    def __init__(self, name: str, help: str, labelnames: Sequence[str] = ()) -> None:
        self.name = name
        self.help = help
        self.labelnames = tuple(labelnames)

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]

    def samples(self) -> Iterable[str]:
        raise NotImplementedError


class Counter(_Family):
    kind = "counter"

    def __init__(self, name: str, help: str, labelnames: Sequence[str] = ()) -> None:
        super().__init__(name, help, labelnames)
        self.values: dict[tuple[str, ...], float] = {}

    def inc(self, labels: tuple[str, ...] = (), amount: float = 1) -> None:
        self.values[labels] = self.values.get(labels, 0) + amount

    def samples(self) -> Iterable[str]:
        for labels, value in sorted(self.values.items()):
            yield f"{self.name}{_labels(self.labelnames, labels)} {_number(value)}"


class Gauge(Counter):
    kind = "gauge"

    def set(self, labels: tuple[str, ...], value: float) -> None:
        self.values[labels] = value

    def replace(self, values: dict[tuple[str, ...], float]) -> None:
        """Swap in a whole new reading, so series that are gone disappear."""
        self.values = values


class Histogram(_Family):
    kind = "histogram"

    def __init__(self, name: str, help: str, labelnames: Sequence[str] = (),
                 buckets: Sequence[float] = LATENCY_BUCKETS) -> None:
        super().__init__(name, help, labelnames)
        self.buckets = tuple(sorted(buckets))
        # Per label set: one count per bucket (not cumulative; summed at scrape), then
        # the overflow count, then the sum of observed values.
        self.values: dict[tuple[str, ...], list[float]] = {}

    def observe(self, labels: tuple[str, ...], value: float) -> None:
        slots = self.values.get(labels)
        if slots is None:
            slots = self.values[labels] = [0.0] * (len(self.buckets) + 2)
        slots[bisect.bisect_left(self.buckets, value)] += 1
        slots[-1] += value

    def samples(self) -> Iterable[str]:
        for labels, slots in sorted(self.values.items()):
            running = 0.0
            for bound, count in zip((*self.buckets, float("inf")), slots[:-1], strict=True):
                running += count
                le = f'le="{_number(bound)}"'
                yield f"{self.name}_bucket{_labels(self.labelnames, labels, le)} {_number(running)}"
            tags = _labels(self.labelnames, labels)
            yield f"{self.name}_sum{tags} {_number(slots[-1])}"
            yield f"{self.name}_count{tags} {_number(running)}"


F = TypeVar("F", bound=_Family)


class Registry:
    def __init__(self) -> None:
        self.families: list[_Family] = []

    def add(self, family: F) -> F:
        self.families.append(family)
        return family

    def render(self) -> str:
        lines: list[str] = []
        for family in self.families:
            lines += family.header()
            lines += family.samples()
        return "\n".join(lines) + "\n"
