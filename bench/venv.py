"""A private virtualenv for a peer system, cached outside the checkout by its requirements."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

CACHE = Path(os.environ.get("CACHE", "/var/cache/cinderblock"))
PIP_CACHE = CACHE / "pip"


def venv_path(name: str, requirements: list[str]) -> Path:
    """Where the venv for these requirements lives; a new pin or Python gets a new venv."""
    key = " ".join(sorted(requirements)) + sys.version.split()[0]
    return CACHE / f"{name}-venv-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def ensure_venv(name: str, requirements: list[str]) -> Path:
    """Build the venv once; the stamp is written last so an interrupted install is redone."""
    path = venv_path(name, requirements)
    stamp = path / ".installed"
    if stamp.exists():
        return path
    log = path.with_name(path.name + ".log")
    print(f"[bench] installing {' '.join(requirements)} into {path} (once; log {log})",
          flush=True)
    pip = [str(path / "bin" / "python"), "-m", "pip", "install", "-q",
           "--cache-dir", str(PIP_CACHE)]
    with open(log, "w") as out:
        for argv in ([sys.executable, "-m", "venv", "--clear", str(path)],
                     [*pip, "--upgrade", "pip", "setuptools", "wheel"],
                     [*pip, *requirements]):
            if subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT).returncode:
                raise RuntimeError(f"{' '.join(argv)} failed; see {log}")
    stamp.touch()
    return path
