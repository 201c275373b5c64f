"""Fault tests: real processes, broker and database; each fault ends with every volume
settled and usage equal to the rows, and prints one summary line at the end of the run."""

from __future__ import annotations

from typing import Any

import pytest

from tests.faults.cluster import write_summary
from tests.messaging.conftest import broker_url, one_db_url, transport

__all__ = ["broker_url", "one_db_url", "transport"]

SUMMARY: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    write_summary(terminalreporter, "faults survived", SUMMARY)


@pytest.fixture
def summary() -> list[str]:
    return SUMMARY
