"""OpenStack Cinder 29.0.0 as a system under test: its own venv (cached outside the
checkout), noauth, the no-storage test driver that ships in its wheel, one database and
one vhost of its own on the shared MariaDB and RabbitMQ."""

from __future__ import annotations

from pathlib import Path

from bench import infra
from bench.sut import SystemUnderTest, run_checked
from bench.venv import ensure_venv

# fixtures: cinder.tests.fake_driver imports Cinder's unit-test helpers, which need it.
REQUIREMENTS = ["cinder==29.0.0", "pymysql", "fixtures"]
FAKE_DRIVER = "cinder.tests.fake_driver.FakeLoggingVolumeDriver"

CONF = """\
[DEFAULT]
auth_strategy = noauth
transport_url = {transport_url}
enabled_backends = fake
default_volume_type = __DEFAULT__
host = bench
my_ip = 127.0.0.1
osapi_volume_listen = 127.0.0.1
osapi_volume_listen_port = {port}
state_path = {workdir}/state
log_dir = {workdir}
api_paste_config = {etc}/api-paste.ini
resource_query_filters_file = {etc}/resource_filters.json
rootwrap_config = {etc}/rootwrap.conf
debug = False
quota_volumes = -1
quota_snapshots = -1
quota_gigabytes = -1

[database]
connection = {connection}

[oslo_concurrency]
lock_path = {workdir}/state/lock

[coordination]
backend_url = file://{workdir}/state/coordination

[fake]
volume_driver = {driver}
volume_backend_name = fake
target_helper = tgtadm
"""


class Cinder(SystemUnderTest):
    name = "Cinder 29.0.0"
    database = "cinder_bench"
    vhost = "cinder_bench"
    binaries = ("cinder-scheduler", "cinder-volume")

    def install(self) -> None:
        self.venv = ensure_venv("cinder", REQUIREMENTS)

    def write_config(self) -> Path:
        (self.workdir / "state" / "lock").mkdir(parents=True, exist_ok=True)
        path = self.workdir / "cinder.conf"
        path.write_text(CONF.format(
            transport_url=infra.rabbit_url(self.vhost), port=self.port, workdir=self.workdir,
            etc=self.venv / "etc" / "cinder", connection=infra.mysql_url(self.database),
            driver=FAKE_DRIVER))
        return path

    def db_sync(self, config: Path) -> None:
        run_checked([str(self.venv / "bin" / "cinder-manage"), "--config-file", str(config),
                     "db", "sync"], self.workdir / "db-sync.log", "cinder-manage db sync")

    def service_commands(self, config: Path) -> dict[str, list[str]]:
        return {f"cinder-{s}": [str(self.venv / "bin" / f"cinder-{s}"),
                                "--config-file", str(config)]
                for s in ("api", "scheduler", "volume")}
