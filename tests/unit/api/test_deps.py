"""A database lost after the work was done must not turn a sent answer into a dropped
connection (found by tests/faults/test_database_restart.py)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from api.deps import get_session


class _DeadOnClose:
    def close(self) -> None:
        raise OperationalError("ROLLBACK", {}, Exception("server closed the connection"))


def _request(session: Any) -> Any:
    return SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(
        sessions=lambda: session)))


def test_a_connection_lost_on_close_is_logged_not_raised(
        caplog: pytest.LogCaptureFixture) -> None:
    dependency = get_session(_request(_DeadOnClose()))
    next(dependency)
    with pytest.raises(StopIteration):
        next(dependency)
    assert "database connection lost while closing" in caplog.text


def test_errors_of_the_route_still_propagate() -> None:
    dependency = get_session(_request(_DeadOnClose()))
    next(dependency)
    with pytest.raises(ValueError):
        dependency.throw(ValueError("route failed"))
