"""Volume lists filtered by creation and update time (3.60), and cluster_name (3.61)."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from db.models import Volume, utcnow
from tests.api.conftest import create_volume, headers, url


def test_created_at_comparisons(client: TestClient,
                                session_factory: sessionmaker[Session]) -> None:
    old = create_volume(client, name="old")
    create_volume(client, name="new")
    long_ago = utcnow() - timedelta(days=10)
    with session_factory() as session, session.begin():
        session.execute(update(Volume).where(Volume.id == old["id"])
                        .values(created_at=long_ago))
    cutoff = (utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")

    def names(query: str) -> list[str]:
        body = client.get(url(f"volumes?{query}"), headers=headers(version="3.60")).json()
        return sorted(v["name"] for v in body["volumes"])

    assert names(f"created_at=gt:{cutoff}") == ["new"]
    assert names(f"created_at=lte:{cutoff}") == ["old"]
    assert names(f"created_at=gt:{cutoff},lt:{cutoff}") == []
    for bad in ("created_at=soon:2020-01-01T00:00:00", "created_at=gt:yesterday",
                "updated_at=2020"):
        assert client.get(url(f"volumes?{bad}"), headers=headers(version="3.60")
                          ).status_code == 400, bad


def test_cluster_name_for_admins_from_3_61(client: TestClient) -> None:
    volume = create_volume(client)
    path = url(f"volumes/{volume['id']}")
    assert client.get(path, headers=headers(version="3.61")).json()["volume"][
        "cluster_name"] is None
    assert "cluster_name" not in client.get(path, headers=headers(version="3.60")).json()[
        "volume"]
    assert "cluster_name" not in client.get(
        path, headers=headers(version="3.61", roles="member")).json()["volume"]
