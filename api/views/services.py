"""Service binaries by Cinder's names on the wire, the executables' names in the database.

The daemons are ``cinderblock-volume`` and ``cinderblock-scheduler`` and register under
those names (``cinderblock-manage service list`` shows them), but clients, Tempest and
operators' ``--service cinder-volume`` speak Cinder's ``cinder-*``: every binary leaving
the API goes through :func:`cinder_binary`, every binary a caller gives through
:func:`stored_binary`, which takes either spelling.
"""

from __future__ import annotations

__all__ = ["cinder_binary", "stored_binary"]

_EXECUTABLE_PREFIX = "cinderblock-"
_CINDER_PREFIX = "cinder-"


def cinder_binary(stored: str) -> str:
    """``cinderblock-volume`` -> ``cinder-volume``; a name of neither family is kept."""
    if stored.startswith(_EXECUTABLE_PREFIX):
        return _CINDER_PREFIX + stored.removeprefix(_EXECUTABLE_PREFIX)
    return stored


def stored_binary(given: str) -> str:
    """The services row's name for ``cinder-volume`` or ``cinderblock-volume`` alike."""
    if given.startswith(_CINDER_PREFIX):
        return _EXECUTABLE_PREFIX + given.removeprefix(_CINDER_PREFIX)
    return given
