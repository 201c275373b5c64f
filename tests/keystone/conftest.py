"""The real Keystone, started once per test session (about 20 s; the venv is cached)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.keystone.server import Keystone, start


@pytest.fixture(scope="session")
def keystone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keystone]:
    server = start(Path(tmp_path_factory.mktemp("keystone")))
    yield server
    server.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.keystone)
