"""Runs the OpenStack clients as a user does: ``source openrc`` in bash, then the command.

The environment starts empty but for ``PATH`` (the clients' venv first) and ``HOME``,
so nothing of the test runner's own environment (an ``OS_*`` left set) leaks in.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.keystone.server import Keystone

__all__ = ["Shell", "Failed"]


class Failed(AssertionError):
    """A client exited non-zero; carries what it printed."""

    def __init__(self, command: str, done: subprocess.CompletedProcess[str]) -> None:
        super().__init__(f"{command!r} exited {done.returncode}:\n{done.stdout}{done.stderr}")
        self.output = done.stdout + done.stderr


class Shell:
    def __init__(self, venv: Path, keystone: Keystone, rc_dir: Path) -> None:
        self.venv = venv
        self.keystone = keystone
        self.rc_dir = rc_dir

    def openrc(self, user: str) -> Path:
        path = self.rc_dir / f"{user}-openrc.sh"
        if not path.exists():
            path.write_text(self.keystone.openrc(user) + "\n")
        return path

    def run(self, user: str, *argv: str, timeout: float = 120) -> str:
        """stdout of ``argv`` run by ``user``; raises Failed on a non-zero exit."""
        command = shlex.join(argv)
        env = {"PATH": f"{self.venv / 'bin'}:{os.environ['PATH']}",
               "HOME": str(self.rc_dir)}
        done = subprocess.run(
            ["bash", "-c", f"source {shlex.quote(str(self.openrc(user)))} && {command}"],
            env=env, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise Failed(command, done)
        return done.stdout

    def json(self, user: str, *argv: str) -> Any:
        """An ``openstack`` command's ``-f json`` output, parsed."""
        return json.loads(self.run(user, "openstack", *argv, "-f", "json"))

    def fails(self, user: str, *argv: str) -> str:
        """What a command that must fail printed; asserts that it did fail."""
        try:
            out = self.run(user, *argv)
        except Failed as failed:
            return failed.output
        raise AssertionError(f"{shlex.join(argv)!r} succeeded:\n{out}")

    def wait_volume(self, user: str, volume: str, status: str, timeout: float = 60) -> dict:
        """``openstack volume show`` once the volume reaches ``status``."""
        deadline = time.monotonic() + timeout
        while True:
            shown = self.json(user, "volume", "show", volume)
            if shown["status"] == status:
                return shown
            assert shown["status"] not in ("error", "error_deleting") and \
                time.monotonic() < deadline, f"volume {volume} stuck: {shown}"
            time.sleep(0.5)
