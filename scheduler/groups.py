"""A group made from a source follows its volumes out of ``creating``, as Cinder's does.

The API writes such a group ``creating`` with one ``creating`` volume per source
member. When the last of them leaves ``creating`` the group becomes ``error`` if one
failed, else ``available``. :func:`lock_group` is taken before a member's status
changes, so results for two members of one group are handled one after the other
and the second sees the first; the sweeper settles, by :func:`settle_stuck_groups`,
any group whose members left ``creating`` another way (a reset, a sweep).
"""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from db.models import Group, Volume

__all__ = ["lock_group", "settle_group", "settle_stuck_groups"]


def lock_group(session: Session, group_id: str | None) -> Group | None:
    """The member's group, row-locked, when it is still ``creating``."""
    if not group_id:
        return None
    group = session.get(Group, group_id, with_for_update=True, populate_existing=True)
    return group if group is not None and group.status == "creating" else None


def settle_group(session: Session, group: Group | None) -> None:
    """Leave ``creating`` once no member is creating. A locking read of the members:
    MariaDB's plain reads would show this transaction's older snapshot."""
    if group is None or group.status != "creating":
        return
    statuses = set(session.scalars(select(Volume.status).with_for_update()
                                   .where(Volume.group_id == group.id)))
    if "creating" not in statuses:
        group.status = "error" if statuses - {"available"} else "available"


def settle_stuck_groups(session: Session) -> list[str]:
    """Settle every ``creating`` group none of whose members is creating any more."""
    member_creating = exists().where(Volume.group_id == Group.id,
                                     Volume.status == "creating")
    settled = []
    for group_id in session.scalars(select(Group.id).where(Group.status == "creating",
                                                           ~member_creating)).all():
        group = lock_group(session, group_id)
        settle_group(session, group)
        if group is not None and group.status != "creating":
            settled.append(group_id)
    return settled
