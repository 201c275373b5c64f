"""``cinderblock-volume``: one process serving every backend in ``enabled_backends``.

Each backend gets its own durable queue ``volume.<host>@<backend>`` and driver;
all share one broker connection, the capability fanout, and the heartbeat loop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from common.config import Config, Section, parse_args
from common.messaging import VOLUME_FANOUT, MessagingError, Server, Transport
from common.service import run_every, setup_logging, wait_for_signal
from volume_agent import progress
from volume_agent.driver import VolumeDriver
from volume_agent.fake_driver import FakeVolumeDriver
from volume_agent.manager import VolumeManager
from volume_agent.metrics import InstrumentedDriver
from volume_agent.metrics import serve as serve_metrics

__all__ = ["main", "make_driver", "build_managers"]

LOG = logging.getLogger("cinderblock-volume")
LVM_DRIVERS = ("lvm", "cinder.volume.drivers.lvm.LVMVolumeDriver",
               "cinder.volume.drivers.lvm.LVMISCSIDriver")
RECONCILE_TIMEOUT = 30


def make_driver(section: Section) -> VolumeDriver:
    """The driver named by ``volume_driver``; LVM is imported only when used."""
    if section.volume_driver == "fake":
        return FakeVolumeDriver(
            section.name, section.fake_capacity_gb, record_file=section.fake_record_file,
            create_delay=section.fake_create_delay,
            delete_delay=section.fake_delete_delay,
            reserved_percentage=section.reserved_percentage, thin=section.lvm_type == "thin",
            max_over_subscription_ratio=section.max_over_subscription_ratio)
    if section.volume_driver in LVM_DRIVERS:
        from volume_agent.lvm_driver import LVMDriver
        return LVMDriver(section)
    raise SystemExit(f"[{section.name}] volume_driver = {section.volume_driver}: not supported; "
                     f"use lvm (or {LVM_DRIVERS[1]}) or fake")


def build_managers(conf: Config, transport: Transport) -> list[VolumeManager]:
    if not conf.backends:
        raise SystemExit("enabled_backends is empty: this volume service has nothing to serve")
    managers = []
    for name, section in conf.backends.items():
        driver = InstrumentedDriver(make_driver(section), name)
        driver.check_setup()
        zone = section.backend_availability_zone or conf.default.storage_availability_zone
        managers.append(VolumeManager(conf.default.host, name, driver, transport, zone=zone,
                                      backend_name=section.volume_backend_name,
                                      report_ttl=conf.default.service_down_time))
    return managers


def _report(managers: Sequence[VolumeManager]) -> None:
    for manager in managers:
        manager.heartbeat()
        manager.report_capabilities()


def main(argv: Sequence[str] | None = None) -> None:
    conf, _ = parse_args("cinderblock-volume", argv)
    setup_logging(conf.default)
    transport = Transport.from_config(conf)
    progress.set_sink(progress.controller_sink(transport, conf.default.service_down_time))
    managers = build_managers(conf, transport)
    if conf.default.metrics_port:
        serve_metrics(conf.default.metrics_listen, conf.default.metrics_port,
                      {m.backend: m.driver for m in managers})
    server = Server(transport)
    for manager in managers:
        server.listen(f"volume.{manager.service_host}", manager)
        server.listen_fanout(VOLUME_FANOUT, manager)
    for manager in managers:
        try:
            manager.reconcile_exports(RECONCILE_TIMEOUT)
        except MessagingError as exc:
            LOG.error("%s: exports not reconciled, the controller did not answer: %s",
                      manager.service_host, exc)
    server.start()
    stop = threading.Event()
    run_every(conf.default.report_interval, lambda: _report(managers), stop, "report")
    LOG.info("serving %s", ", ".join(m.service_host for m in managers))
    wait_for_signal(stop)
    server.stop()
    transport.close()


if __name__ == "__main__":
    main()
