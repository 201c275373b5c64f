"""cinderblock behind a real Keystone, and the OpenStack clients a user drives it with.

One stack per session (Keystone, API, scheduler, fake-backend agent: ~20 s); the
clients' venv is built once and cached outside the checkout (a first run: ~2 min).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.clients.shell import Shell
from tests.clients.stack import Stack, running
from tests.clients.venvs import pinned_venv

REQUIREMENTS = Path(__file__).with_name("requirements.txt")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running(tmp_path_factory.mktemp("clients")) as started:
        yield started


@pytest.fixture(scope="session")
def shell(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Shell:
    return Shell(pinned_venv("clients", REQUIREMENTS), stack.keystone,
                 tmp_path_factory.mktemp("openrc"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.keystone)
