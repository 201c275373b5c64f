"""``cinderblock-manage service list`` / ``volume show``: the operator's view without the API."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from db.manage import main
from db.models import Service, Volume, VolumeType, utcnow


def _conf(tmp_path: Path, db_url: str) -> str:
    path = tmp_path / "cinderblock.conf"
    path.write_text(f"[DEFAULT]\nservice_down_time = 60\n[database]\nconnection = {db_url}\n")
    return str(path)


def test_service_list_shows_liveness_as_os_services_does(
        db_url: str, session_factory: sessionmaker[Session], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    with session_factory() as session, session.begin():
        session.add_all([
            Service(host="node2@lvm", binary="cinderblock-volume", availability_zone="nova",
                    last_seen_at=utcnow()),
            Service(host="controller", binary="cinderblock-scheduler", disabled=True,
                    disabled_reason="maintenance", last_seen_at=utcnow() - timedelta(hours=1)),
        ])
    assert main(["--config-file", _conf(tmp_path, db_url), "service", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:5] == ["Binary", "Host", "Zone", "Status", "State"]
    volume = next(line.split() for line in lines if "node2@lvm" in line)
    scheduler = next(line.split() for line in lines if "controller" in line)
    assert volume[:5] == ["cinderblock-volume", "node2@lvm", "nova", "enabled", "up"]
    assert scheduler[3:5] == ["disabled", "down"] and scheduler[-1] == "maintenance"


def test_volume_show_prints_the_row_with_the_chap_secret_masked(
        db_url: str, session_factory: sessionmaker[Session], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    with session_factory() as session, session.begin():
        volume_type = VolumeType(name="lvm")
        session.add(volume_type)
        session.flush()
        volume = Volume(project_id="p1", size=2, status="available", host="node2@lvm#lvm",
                        volume_type_id=volume_type.id, provider_auth="CHAP user s3cret")
        session.add(volume)
        session.flush()
        volume_id = volume.id
    conf = _conf(tmp_path, db_url)
    assert main(["--config-file", conf, "volume", "show", volume_id]) == 0
    out = capsys.readouterr().out
    fields = dict(line.split(None, 1) for line in out.splitlines())
    assert fields["status"] == "available" and fields["host"] == "node2@lvm#lvm"
    assert fields["provider_auth"] == "***" and "s3cret" not in out
    assert main(["--config-file", conf, "volume", "show", "no-such-volume"]) == 1
