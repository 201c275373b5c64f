"""Venvs of pinned OpenStack tools, built once outside the checkout and shared by clones.

The clients and Tempest pin oslo.*, keystoneauth1 and friends differently from
cinderblock and from each other, so each gets its own venv, named by the hash of its
requirements file: a changed pin builds a fresh one, a clean clone reuses the last.
``built_once`` (the Keystone harness's) makes an interrupted build be redone.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.keystone.cached import CACHE, built_once, digest

__all__ = ["pinned_venv"]


def pinned_venv(name: str, requirements: Path) -> Path:
    """The venv holding ``requirements``, installed first if no run has (minutes)."""

    def install(venv: Path) -> None:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
                        "--cache-dir", str(CACHE / "pip"), "-r", str(requirements)],
                       check=True)

    return built_once(CACHE / f"{name}-venv-{digest(requirements.read_bytes())}", install)
