"""OpenStack Cinder 29.0.0 as a system under test: its own venv (cached outside the
checkout), noauth, the no-storage test driver that ships in its wheel, one database and
one vhost of its own on the shared MariaDB and RabbitMQ."""

from __future__ import annotations

from bench.sut import SystemUnderTest
from bench.venv import ensure_venv

# fixtures: cinder.tests.fake_driver imports Cinder's unit-test helpers, which need it.
REQUIREMENTS = ["cinder==29.0.0", "pymysql", "fixtures"]
FAKE_DRIVER = "cinder.tests.fake_driver.FakeLoggingVolumeDriver"


class Cinder(SystemUnderTest):
    name = "Cinder 29.0.0"
    prefix = "cinder"
    database = "cinder_bench"
    vhost = "cinder_bench"

    def install(self) -> None:
        self.venv = ensure_venv("cinder", REQUIREMENTS)
        self.bin = self.venv / "bin"

    def own_config(self) -> dict[str, dict[str, str]]:
        etc = self.venv / "etc" / "cinder"
        state = self.workdir / "state"
        (state / "lock").mkdir(parents=True, exist_ok=True)
        return {
            "DEFAULT": {"default_volume_type": "__DEFAULT__", "my_ip": "127.0.0.1",
                        "state_path": str(state), "log_dir": str(self.workdir),
                        "api_paste_config": str(etc / "api-paste.ini"),
                        "resource_query_filters_file": str(etc / "resource_filters.json"),
                        "rootwrap_config": str(etc / "rootwrap.conf"), "debug": "False"},
            "oslo_concurrency": {"lock_path": str(state / "lock")},
            "coordination": {"backend_url": f"file://{state}/coordination"},
            # The fake driver is an LVM driver with storage calls stubbed; tgtadm keeps its
            # target helper from looking for LIO.
            "fake": {"volume_driver": FAKE_DRIVER, "target_helper": "tgtadm"},
        }
