"""Many creates at once against a small quota: exactly the quota succeeds, no more."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from db.models import QuotaUsage, Volume
from tests.api.conftest import OTHER_PROJECT, headers, url

QUOTA = 3
REQUESTS = 16


def test_concurrent_creates_never_exceed_quota(
        client: TestClient, session_factory: sessionmaker[Session]) -> None:
    owner = headers(OTHER_PROJECT)
    assert client.put(url(f"os-quota-sets/{OTHER_PROJECT}", OTHER_PROJECT), headers=owner,
                      json={"quota_set": {"volumes": QUOTA}}).status_code == 200

    def create(i: int) -> int:
        return client.post(url("volumes", OTHER_PROJECT), headers=owner,
                           json={"volume": {"size": 1, "name": f"race-{i}"}}).status_code

    with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
        statuses = list(pool.map(create, range(REQUESTS)))
    assert sorted(statuses) == [202] * QUOTA + [413] * (REQUESTS - QUOTA)
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Volume)) == QUOTA
        usage = {row.resource: (row.in_use, row.reserved) for row in session.scalars(
            select(QuotaUsage).where(QuotaUsage.project_id == OTHER_PROJECT))}
    assert usage["volumes"] == (QUOTA, 0)
    assert usage["gigabytes"] == (QUOTA, 0)
