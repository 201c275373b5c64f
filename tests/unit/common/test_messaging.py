"""Broker URLs from cinder.conf: transport_url and the legacy rabbit options."""

from __future__ import annotations

import pathlib

import pytest

from common.config import load
from common.messaging import MessagingError, broker_urls, volume_topic


def urls(tmp_path: pathlib.Path, text: str) -> list[str]:
    path = tmp_path / "c.conf"
    path.write_text(text)
    conf = load([str(path)])
    return broker_urls(conf.default, conf.rabbit)


def test_transport_url_with_root_vhost(tmp_path: pathlib.Path) -> None:
    assert urls(tmp_path, "[DEFAULT]\ntransport_url = rabbit://openstack:pw@ctl:5672/\n") == [
        "amqp://openstack:pw@ctl:5672/%2F"]


def test_transport_url_with_several_hosts_and_named_vhost(tmp_path: pathlib.Path) -> None:
    text = "[DEFAULT]\ntransport_url = rabbit://u:p@a:5672,u:p@b:5673/cinder\n"
    assert urls(tmp_path, text) == ["amqp://u:p@a:5672/cinder", "amqp://u:p@b:5673/cinder"]


def test_legacy_rabbit_options(tmp_path: pathlib.Path) -> None:
    text = ("[oslo_messaging_rabbit]\nrabbit_host = ctl\nrabbit_userid = openstack\n"
            "rabbit_password = p@ss/word\n")
    assert urls(tmp_path, text) == ["amqp://openstack:p%40ss%2Fword@ctl:5672/%2F"]


def test_legacy_rabbit_hosts_list(tmp_path: pathlib.Path) -> None:
    text = "[oslo_messaging_rabbit]\nrabbit_hosts = a:1, b:2\nrabbit_virtual_host = v\n"
    assert urls(tmp_path, text) == ["amqp://guest:guest@a:1/v", "amqp://guest:guest@b:2/v"]


def test_unsupported_scheme_is_refused(tmp_path: pathlib.Path) -> None:
    with pytest.raises(MessagingError, match="not supported"):
        urls(tmp_path, "[DEFAULT]\ntransport_url = kafka://x:9092/\n")


def test_volume_topic_drops_the_pool() -> None:
    assert volume_topic("node2@lvm#cinder-volumes") == "volume.node2@lvm"
    assert volume_topic("node2@lvm") == "volume.node2@lvm"
