"""The state tables are consistent and say what Cinder's API relies on."""

from __future__ import annotations

import pytest

from db import states

MACHINES = [states.VOLUME, states.SNAPSHOT, states.ATTACHMENT]


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.model.__name__)
def test_every_target_is_a_known_status(machine: states.StateMachine) -> None:
    for current, targets in machine.transitions.items():
        assert targets <= set(machine.transitions), current


def test_reset_statuses_are_cinders_in_cinders_order() -> None:
    # The order os-reset_status lists them in its 400 message.
    assert states.VOLUME_STATUSES == (
        "creating", "available", "deleting", "error", "error_deleting", "error_managing",
        "managing", "attaching", "in-use", "detaching", "maintenance", "restoring-backup",
        "error_restoring", "reserved", "awaiting-transfer", "backing-up", "error_backing-up",
        "error_extending", "downloading", "uploading", "retyping", "extending")


@pytest.mark.parametrize(("current", "new"), [
    ("in-use", "deleting"), ("creating", "in-use"), ("deleting", "available"),
    ("attaching", "deleting"), ("extending", "deleting")])
def test_unsafe_moves_are_illegal(current: str, new: str) -> None:
    with pytest.raises(states.IllegalTransition):
        states.VOLUME.check({current}, new)


@pytest.mark.parametrize(("expected", "new"), [
    ({"available", "error", "error_restoring", "error_extending", "error_managing"}, "deleting"),
    ({"available", "in-use"}, "extending"),
    ({"creating"}, "available"), ({"deleting"}, "error_deleting"),
    ({"available"}, "reserved"), ({"reserved", "attaching"}, "in-use"),
    ({"in-use"}, "detaching"), ({"detaching"}, "available")])
def test_api_moves_are_legal(expected: set[str], new: str) -> None:
    states.VOLUME.check(expected, new)


def test_one_illegal_expected_status_spoils_the_set() -> None:
    with pytest.raises(states.IllegalTransition, match="in-use"):
        states.VOLUME.check({"available", "in-use"}, "deleting")


def test_unknown_status_and_empty_expectation_are_refused() -> None:
    with pytest.raises(states.IllegalTransition):
        states.VOLUME.check({"bogus"}, "available")
    with pytest.raises(states.IllegalTransition):
        states.VOLUME.check(set(), "available")
