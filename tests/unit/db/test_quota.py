"""OverQuota carries Cinder's 413 wording, which clients and tempest match on."""

from __future__ import annotations

from db.quota import OverQuota


def test_gigabytes_message_reports_consumed_as_in_use_plus_reserved() -> None:
    assert OverQuota("gigabytes", 1000, 0, 0, 2000).message == (
        "VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed "
        "gigabytes quota. Requested 2000G, quota is 1000G and 0G has been consumed.")
    assert "and 7G has been consumed" in OverQuota("gigabytes_gold", 10, 3, 4, 5).message


def test_volumes_message_names_the_quota() -> None:
    assert OverQuota("volumes", 2, 2, 0, 1).message == (
        "VolumeLimitExceeded: Maximum number of volumes allowed (2) exceeded for "
        "quota 'volumes'.")


def test_snapshots_message() -> None:
    assert OverQuota("snapshots", 5, 5, 0, 1).message == (
        "SnapshotLimitExceeded: Maximum number of snapshots allowed (5) exceeded")
