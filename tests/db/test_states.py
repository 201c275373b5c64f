"""Guarded status changes against the real servers: one winner, illegal moves refused."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from db import states
from db.models import Volume, VolumeAttachment
from db.session import make_session_factory, session_scope
from tests.db.conftest import add_volume, race


def test_transition_moves_only_from_an_expected_status(db_session: Session) -> None:
    volume = add_volume(db_session, "available")
    assert states.transition(db_session, volume.id, {"available"}, "extending", size=2)
    db_session.commit()
    assert (volume.status, volume.size) == ("extending", 2)
    assert volume.task_started_at is not None

    assert not states.transition(db_session, volume.id, {"available"}, "deleting")
    db_session.commit()
    assert volume.status == "extending"


def test_leaving_a_transitional_status_clears_the_task(db_session: Session) -> None:
    volume = add_volume(db_session, "creating", task_owner="scheduler@ctl")
    assert states.transition(db_session, volume.id, {"creating"}, "available")
    db_session.commit()
    assert (volume.task_owner, volume.task_started_at) == (None, None)


def test_illegal_transition_is_refused_before_the_database(db_session: Session) -> None:
    volume = add_volume(db_session, "in-use")
    with pytest.raises(states.IllegalTransition):
        states.transition(db_session, volume.id, {"in-use"}, "deleting")
    db_session.rollback()
    assert db_session.get(Volume, volume.id).status == "in-use"


def test_force_delete_moves_from_any_status_but_only_when_forced(db_session: Session) -> None:
    """Cinder's os-force_delete ignores the status (Tempest resets a volume to attaching
    or maintenance, a snapshot to deleting, then force deletes it)."""
    volume = add_volume(db_session, "maintenance")
    with pytest.raises(states.IllegalTransition):
        states.transition(db_session, volume.id, {"maintenance"}, "deleting")
    with pytest.raises(states.IllegalTransition):
        states.VOLUME.transition(db_session, volume.id, {"maintenance"}, "error", force=True)
    everything = tuple(states.VOLUME_TRANSITIONS)
    assert states.VOLUME.transition(db_session, volume.id, everything, "deleting", force=True)
    assert states.VOLUME.transition(db_session, volume.id, everything, "deleting", force=True)
    db_session.commit()
    assert volume.status == "deleting"
    with pytest.raises(states.IllegalTransition):
        states.VOLUME.transition(db_session, volume.id, {"deleting"}, "available", force=True)


def test_transition_of_a_missing_volume_loses(db_session: Session) -> None:
    assert not states.transition(db_session, "no-such-volume", {"available"}, "deleting")


def test_reset_sets_any_known_status(db_session: Session) -> None:
    volume = add_volume(db_session, "deleting")
    assert states.VOLUME.reset(db_session, volume.id, "available")
    db_session.commit()
    assert volume.status == "available"
    with pytest.raises(states.IllegalTransition):
        states.VOLUME.reset(db_session, volume.id, "bogus")


def test_delete_removes_the_row_with_its_children(db_session: Session) -> None:
    volume = add_volume(db_session, "deleting")
    db_session.add(VolumeAttachment(volume_id=volume.id, attach_status="detached"))
    db_session.commit()
    assert not states.VOLUME.delete(db_session, volume.id, {"available"})
    assert states.VOLUME.delete(db_session, volume.id, {"deleting"})
    db_session.commit()
    assert db_session.get(Volume, volume.id) is None
    assert db_session.scalars(select(VolumeAttachment)).all() == []


def test_attachment_machine_guards_attach_status(db_session: Session) -> None:
    volume = add_volume(db_session, "reserved")
    attachment = VolumeAttachment(volume_id=volume.id)
    db_session.add(attachment)
    db_session.commit()
    assert states.ATTACHMENT.transition(db_session, attachment.id, {"reserved"}, "attached")
    db_session.commit()
    assert attachment.attach_status == "attached"


@pytest.mark.parametrize("threads", [12])
def test_racing_transitions_have_exactly_one_winner(
        session_factory: sessionmaker[Session], race_engine: Engine, threads: int) -> None:
    with session_factory() as session:
        volume_id = add_volume(session, "available").id
    racers = make_session_factory(race_engine)

    def attempt() -> bool:
        with session_scope(racers) as session:
            return states.transition(session, volume_id, {"available"}, "deleting")

    results = race(threads, attempt)
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert results.count(True) == 1
    with session_factory() as session:
        assert session.get(Volume, volume_id).status == "deleting"
