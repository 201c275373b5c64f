"""Bad-input tests run the real API processes the fault tests run."""

from __future__ import annotations

from typing import Any

import pytest

from tests.faults.cluster import write_summary
from tests.messaging.conftest import broker_url, one_db_url, transport

__all__ = ["broker_url", "one_db_url", "transport"]

SUMMARY: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    write_summary(terminalreporter, "bad input", SUMMARY)


@pytest.fixture
def summary() -> list[str]:
    return SUMMARY
