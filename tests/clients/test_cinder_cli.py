"""python-cinderclient against cinderblock, found through Keystone's catalog; it asks
for a newer microversion than cinderblock serves and must settle on cinderblock's."""

from __future__ import annotations

import re
import time
import uuid


def field(table: str, key: str) -> str:
    """A value of cinder's ``| Property | Value |`` table."""
    match = re.search(rf"^\|\s*{re.escape(key)}\s*\|\s*(.*?)\s*\|$", table, re.MULTILINE)
    assert match, f"no {key} in:\n{table}"
    return match.group(1)


def wait_field(shell, volume: str, key: str, value: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while True:
        shown = shell.run("demo", "cinder", "show", volume)
        if field(shown, key) == value:
            return shown
        assert time.monotonic() < deadline, f"{key} never became {value}:\n{shown}"
        time.sleep(0.5)


def test_create_list_show_extend(shell):
    name = f"cinder-{uuid.uuid4().hex[:8]}"
    created = shell.run("demo", "cinder", "create", "1", "--name", name)
    volume = field(created, "id")
    wait_field(shell, volume, "status", "available")
    assert re.search(rf"\|\s*{volume}\s*\|\s*available\s*\|\s*{name}\s*\|",
                     shell.run("demo", "cinder", "list"))

    shell.run("demo", "cinder", "extend", volume, "2")
    shown = wait_field(shell, volume, "size", "2")
    assert field(shown, "status") == "available"

