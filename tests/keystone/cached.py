"""The test Keystone's own venv, outside the checkout and shared by every clone.

Keystone pins libraries (oslo.*, SQLAlchemy, Flask) that must not leak into the
project's venv, so it gets one of its own under the cache directory, named by the
hash of ``requirements.txt``: changing a pin builds a fresh venv, and a clean clone
reuses the one a previous run built. A lock keeps two test sessions from building it
at once, and a stamp written last marks it finished, so a run killed mid-install is
rebuilt rather than trusted (a venv cannot be renamed into place: its scripts carry
its path).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["CACHE", "REQUIREMENTS", "venv_path", "ensure_venv"]

CACHE = Path(os.environ.get("CINDERBLOCK_CACHE", "/var/cache/cinderblock"))
REQUIREMENTS = Path(__file__).with_name("requirements.txt")


def venv_path() -> Path:
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:12]
    return CACHE / f"keystone-venv-{digest}"


def ensure_venv() -> Path:
    """The venv's path, after installing it if this is the first run (a minute or two)."""
    venv = venv_path()
    stamp = venv / ".complete"
    if stamp.exists():
        return venv
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / "keystone-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists():
            return venv
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--cache-dir",
                        str(CACHE / "pip"), "-r", str(REQUIREMENTS)], check=True)
        stamp.touch()
    return venv
