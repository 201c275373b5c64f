"""The cinder.conf loader: what an operator's existing file relies on."""

import logging
import pathlib

import pytest

from common.config import ConfigError, load, parse_args

GUIDE = pathlib.Path(__file__).parents[2] / "fixtures" / "install-guide-cinder.conf"


def write(tmp_path: pathlib.Path, text: str, name: str = "c.conf") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_install_guide_config_loads_unchanged() -> None:
    conf = load([str(GUIDE)])
    assert conf.default.enabled_backends == ["lvm"]
    assert conf.default.auth_strategy == "keystone"
    assert conf.database.connection == "mysql://cinder:cinder@127.0.0.1/cinder"
    assert conf.rabbit.rabbit_userid == "openstack"
    assert conf.keystone.www_authenticate_uri == "http://127.0.0.1:5000"
    assert conf.keystone.auth_type == "password"
    lvm = conf.backends["lvm"]
    assert lvm.volume_group == "cinder-volumes"
    assert lvm.target_helper == "lioadm"
    assert lvm.target_protocol == "iscsi"
    assert lvm.volume_backend_name == "lvm"


def test_new_names_win_over_legacy_ones(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path, "[DEFAULT]\nenabled_backends = a\n"
                 "[a]\niscsi_ip_address = 10.0.0.1\ntarget_ip_address = 10.0.0.2\n")
    assert load([path]).backends["a"].target_ip_address == "10.0.0.2"


def test_later_files_win(tmp_path: pathlib.Path) -> None:
    first = write(tmp_path, "[DEFAULT]\nosapi_volume_listen_port = 1\n", "1.conf")
    second = write(tmp_path, "[DEFAULT]\nosapi_volume_listen_port = 2\n", "2.conf")
    conf, _ = parse_args("x", ["--config-file", first, "--config-file", second])
    assert conf.default.osapi_volume_listen_port == 2


def test_bad_value_names_file_section_and_option(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path, "[DEFAULT]\nosapi_volume_workers = many # comment\n")
    with pytest.raises(ConfigError) as err:
        load([path])
    assert path in str(err.value)
    assert "[DEFAULT] osapi_volume_workers" in str(err.value)
    assert "'many'" in str(err.value)


def test_unknown_option_warns_once(tmp_path: pathlib.Path,
                                   caplog: pytest.LogCaptureFixture) -> None:
    path = write(tmp_path, "[database]\nbogus_option = 1\n[nonsense]\nx = 1\n")
    with caplog.at_level(logging.WARNING):
        load([path])
    assert sum("bogus_option" in r.message for r in caplog.records) == 1
    assert sum("[nonsense]" in r.message for r in caplog.records) == 1


def test_only_lio_is_accepted(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path, "[DEFAULT]\nenabled_backends = a\n[a]\ntarget_protocol = fc\n")
    with pytest.raises(ConfigError, match="target_protocol"):
        load([path])


def test_dump_masks_secrets() -> None:
    dump = load([str(GUIDE)]).dump()
    text = repr(dump)
    assert "cinder:cinder@" not in text
    assert dump["oslo_messaging_rabbit"]["rabbit_password"] == "***"
    assert dump["keystone_authtoken"]["password"] == "***"


def test_missing_file_is_a_clear_error(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load([str(tmp_path / "absent.conf")])
