"""The batch poller: exact counts, bounded precision, and not listing back to back."""

from __future__ import annotations

import pytest

from bench import client
from bench.client import Api


def test_a_long_batch_is_listed_every_percent_of_the_wait(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """100 creates finishing one every 3 s: the wall time is read within 1 %, with a few
    hundred listings rather than one every 50 ms (6,000)."""
    clock = [0.0]
    monkeypatch.setattr(client.time, "perf_counter", lambda: clock[0])
    monkeypatch.setattr(client.time, "sleep", lambda s: clock.__setitem__(0, clock[0] + s))
    ids = {f"v{n}" for n in range(1, 101)}
    listings: list[str | None] = []

    def volume_ids(status: str | None = None) -> set[str]:
        listings.append(status)
        if status != "available":
            return set()
        return {f"v{n}" for n in range(1, 101) if 3 * n <= clock[0]}

    api = Api.__new__(Api)
    monkeypatch.setattr(api, "volume_ids", volume_ids, raising=False)
    settled = api.wait_all_available(ids, 0.0)
    assert (settled.available, settled.failed) == (100, 0)
    assert 300 <= settled.seconds <= 303
    assert len(listings) < 700
