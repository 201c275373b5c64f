"""cinderblock from this checkout as a system under test: the same shared MariaDB and
RabbitMQ as Cinder (its own database and vhost), noauth, the recorded fake backend."""

from __future__ import annotations

import sys
from pathlib import Path

from bench.sut import SystemUnderTest


class Cinderblock(SystemUnderTest):
    name = "cinderblock"
    prefix = "cinderblock"
    database = "cinderblock_bench"
    vhost = "cinderblock_bench"

    def install(self) -> None:
        """The checkout's venv (``make venv``) is the one running this benchmark."""
        self.bin = Path(sys.executable).parent

    def own_config(self) -> dict[str, dict[str, str]]:
        lock = self.workdir / "lock"
        lock.mkdir(parents=True, exist_ok=True)
        # Capacity far above the load, as Cinder's fake driver reports infinite capacity.
        return {"oslo_concurrency": {"lock_path": str(lock)},
                "fake": {"volume_driver": "fake", "fake_capacity_gb": "1000000"}}
