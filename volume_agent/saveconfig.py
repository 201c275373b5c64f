"""A copy of the LIO configuration on disk, for operators and for the target's own
restore service, written in batches and atomically.

It is a convenience: the controller stays the source of truth and start-up
reconciliation repairs whatever this file restored. Writing it after every configfs
object would turn one export into a dozen full dumps, so changes only mark the copy
stale and one write follows ``delay`` seconds after the first of them; a pass over
every export (start-up reconciliation) holds the writes back and is followed by one.
The file is written beside its final path and renamed over it, so a reader (or a
crash) sees the old copy or the new one, never half of one. It holds CHAP secrets:
mode 0600.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["DebouncedSaver", "write_atomically"]

LOG = logging.getLogger(__name__)


def write_atomically(path: str, text: str) -> None:
    """Replace ``path`` by ``text`` in one rename, after the data reached the disk."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".saveconfig-", dir=directory)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, 0o600)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


class DebouncedSaver:
    """Writes ``dump()`` as JSON to ``path`` once per burst of ``changed()`` calls."""

    def __init__(self, dump: Callable[[], dict[str, Any]], path: str, delay: float) -> None:
        self.dump = dump
        self.path = path
        self.delay = delay
        self._guard = threading.Lock()
        self._write = threading.Lock()
        self._timer: threading.Timer | None = None
        self._holds = 0
        self._held_changes = False

    def changed(self) -> None:
        """The configuration changed: a write is due ``delay`` seconds from the first
        change not yet written (or after the hold, if one is on)."""
        with self._guard:
            if self._holds:
                self._held_changes = True
            elif self._timer is None:
                self._timer = threading.Timer(self.delay, self._due)
                self._timer.daemon = True
                self._timer.start()

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """No write while the block runs, one after it if anything changed: each dump
        reads the whole configuration, so dumping every ``delay`` seconds during a pass
        over every export would make the pass quadratic in the number of exports."""
        with self._guard:
            self._holds += 1
        try:
            yield
        finally:
            with self._guard:
                self._holds -= 1
                due = self._holds == 0 and self._held_changes
                if due:
                    self._held_changes = False
            if due:
                self.changed()

    def _due(self) -> None:
        with self._guard:
            self._timer = None
            if self._holds:
                self._held_changes = True
                return
        self.save()

    def save(self) -> bool:
        """Write now; a failure is logged, never raised: the export it follows worked."""
        with self._write:
            try:
                write_atomically(self.path, json.dumps(self.dump(), indent=2, sort_keys=True))
                return True
            except Exception as exc:  # rtslib's dump or the disk; the export still stands
                LOG.error("could not save the LIO configuration to %s: %s", self.path, exc)
                return False
