"""What the test Keystone builds once and keeps outside the checkout, shared by every clone.

Keystone pins libraries (oslo.*, SQLAlchemy, Flask) that must not leak into the
project's venv, so it gets one of its own, named by the hash of ``requirements.txt``:
changing a pin builds a fresh venv, and a clean clone reuses the one a previous run
built. Its bootstrapped state (database and keys after ``keystone-manage``, ~20 s of
work) is kept the same way, so a test session starts Keystone in seconds.

A lock keeps two test sessions from building the same thing at once, and a stamp
written last marks it finished, so a run killed mid-build is rebuilt rather than
trusted (a venv cannot be built aside and renamed: its scripts carry its path).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

__all__ = ["CACHE", "REQUIREMENTS", "built_once", "ensure_venv", "digest"]

CACHE = Path(os.environ.get("CINDERBLOCK_CACHE", "/var/cache/cinderblock"))
REQUIREMENTS = Path(__file__).with_name("requirements.txt")


def digest(*parts: bytes) -> str:
    return hashlib.sha256(b"\0".join(parts)).hexdigest()[:12]


def built_once(path: Path, build: Callable[[Path], None]) -> Path:
    """``path``, after ``build(path)`` has filled it unless an earlier run finished it."""
    stamp = path / ".complete"
    if stamp.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / "keystone-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not stamp.exists():
            shutil.rmtree(path, ignore_errors=True)
            build(path)
            stamp.touch()
    return path


def _install_venv(venv: Path) -> None:
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--cache-dir",
                    str(CACHE / "pip"), "-r", str(REQUIREMENTS)], check=True)


def ensure_venv() -> Path:
    """The venv's path, after installing it if this is the first run (a minute or two)."""
    venv = CACHE / f"keystone-venv-{digest(REQUIREMENTS.read_bytes())}"
    return built_once(venv, _install_venv)
