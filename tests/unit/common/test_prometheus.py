"""The text exposition Prometheus scrapes: what dashboards and alerts parse."""

from __future__ import annotations

from common.prometheus import Counter, Gauge, Histogram, Registry


def test_counter_renders_help_type_and_escaped_labels() -> None:
    registry = Registry()
    requests = registry.add(Counter("reqs_total", "Requests.", ("route", "status")))
    requests.inc(("/v3/{project_id}/volumes", "202"))
    requests.inc(("/v3/{project_id}/volumes", "202"))
    requests.inc(('say "hi"\\\n', "500"))
    assert registry.render().splitlines() == [
        "# HELP reqs_total Requests.",
        "# TYPE reqs_total counter",
        'reqs_total{route="/v3/{project_id}/volumes",status="202"} 2',
        'reqs_total{route="say \\"hi\\"\\\\\\n",status="500"} 1',
    ]


def test_histogram_buckets_are_cumulative_with_inf_sum_and_count() -> None:
    registry = Registry()
    latency = registry.add(Histogram("lat_seconds", "Latency.", ("route",), buckets=(0.1, 1)))
    for value in (0.05, 0.1, 0.5, 3):
        latency.observe(("r",), value)
    lines = registry.render().splitlines()[2:]
    assert lines == [
        'lat_seconds_bucket{route="r",le="0.1"} 2',
        'lat_seconds_bucket{route="r",le="1"} 3',
        'lat_seconds_bucket{route="r",le="+Inf"} 4',
        'lat_seconds_sum{route="r"} 3.65',
        'lat_seconds_count{route="r"} 4',
    ]


def test_gauge_replace_drops_series_that_are_gone() -> None:
    registry = Registry()
    free = registry.add(Gauge("free_bytes", "Free.", ("vg",)))
    free.set(("a",), 1.5)
    free.set(("b",), 2)
    free.replace({("b",): 3})
    assert registry.render().splitlines()[2:] == ['free_bytes{vg="b"} 3']
