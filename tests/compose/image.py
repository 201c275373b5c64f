"""The Docker variant of the storage-node image, for `make compose-test`.

It is the default image (tests/storage_vm/build.sh, untouched, so its hash and everyone's
cached copy stay) plus Debian's docker.io and docker-compose v1, with the containers' root
filesystem (tests/compose/rootfs.sh) already imported under the image names
docker-compose.yml uses. Installing and importing take minutes under TCG, so they happen
once, in a VM booted on the default image, and the result is flattened into its own cached
qcow2 under $CINDERBLOCK_CACHE/compose/<recipe hash>/; later runs boot it directly.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.storage_vm.vm import StorageVM, build_image

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CACHE = Path(os.environ.get("CINDERBLOCK_CACHE", "/var/cache/cinderblock")) / "compose"
PACKAGES = REPO / "tests/storage_vm/packages-docker.txt"
RECIPE = [HERE / "rootfs.sh", HERE / "image.py", HERE / "guest/install-docker.sh",
          HERE / "guest/start-docker.sh", PACKAGES, REPO / "pyproject.toml"]
# `apt-cache depends --recurse` lists every alternative of an or-dependency; the default
# image already satisfies these ones another way (debconf, libsystemd0, usr-is-merged).
ALTERNATIVES_NOT_TAKEN = {"cdebconf", "libdebian-installer4", "libnewt0.52", "libslang2",
                          "libtextwrap1", "libelogind0", "usrmerge", "libfile-find-rule-perl",
                          "libnumber-compare-perl", "libtext-glob-perl"}


def _log(message: str) -> None:
    print(f"compose image: {message}", file=sys.stderr, flush=True)


def recipe_hash(base: Path) -> str:
    digest = hashlib.sha256(base.name.encode())
    for path in RECIPE:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _apt(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(["apt-cache" if args[0] != "download" else "apt-get", *args],
                          cwd=cwd, capture_output=True, text=True, check=True).stdout


def _versioned(names: list[str]) -> set[str]:
    """Packages that ``names`` depend on at a minimum or exact version (perl on perl-base)."""
    fields = _apt("show", "--no-all-versions", *names)
    return set(re.findall(r"(?:^|[\s,|])([a-z0-9][a-z0-9+.-]+)(?::any)? \([>=]= ",
                          "\n".join(re.findall(r"^(?:Pre-)?Depends: (.*)$", fields, re.M))))


def download_debs(base: Path, dest: Path) -> list[str]:
    """The .deb files the default image lacks for packages-docker.txt: packages it does not
    have, and newer versions of installed ones only where a new package asks for a version
    (upgrading the rest, Python's standard library above all, costs minutes of
    byte-compiling under emulation for nothing)."""
    wanted = [line.strip() for line in PACKAGES.read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    closure = {line for line in _apt("depends", "--recurse", "--no-recommends", "--no-suggests",
                                     "--no-conflicts", "--no-breaks", "--no-replaces",
                                     "--no-enhances", *wanted).splitlines()
               if line and not line.startswith((" ", "<"))} - ALTERNATIVES_NOT_TAKEN
    installed = dict(re.findall(r"^([^\s:]+)(?::\w+)? (\S+)$",
                                (base / "manifest.txt").read_text(), re.M))
    candidates = dict(re.findall(r"^(\S+):\n\s+Installed: .*\n\s+Candidate: (\S+)",
                                 _apt("policy", *sorted(closure)), re.M))
    names = sorted(name for name in closure if name not in installed)
    names += sorted(name for name in _versioned(names) & closure
                    if name in installed and installed[name] != candidates.get(name))
    dest.mkdir(parents=True)
    _apt("download", *names, cwd=dest)
    return names


def build() -> Path:
    """The cached image folder (base.qcow2, vmlinuz, initrd.img), built first if missing."""
    base = build_image()
    target = CACHE / recipe_hash(base)
    if (target / "base.qcow2").exists():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / "base.qcow2").exists():
            return target
        for leftover in CACHE.glob(".build-*"):
            shutil.rmtree(leftover)
        staging = CACHE / f".build-{target.name}"
        share = staging / "share"
        share.mkdir(parents=True)
        try:
            _log("containers' root filesystem")
            subprocess.run(["bash", str(HERE / "rootfs.sh"), str(share / "rootfs.tar")],
                           check=True)
            names = download_debs(base, share / "debs")
            _log(f"{len(names)} packages for the guest: {' '.join(names)}")
            for script in ("install-docker.sh", "start-docker.sh"):
                shutil.copy(HERE / "guest" / script, share / script)
            with StorageVM(image_dir=base, source_dir=share, memory_mib=2048, cpus=1,
                           vg_size="2G") as vm:
                result = vm.run("bash /mnt/src/install-docker.sh", timeout=1800, check=True)
                _log(f"installed and imported in the guest in {result.duration:.0f} s")
                vm.stop()
                image = staging / "image"
                image.mkdir()
                subprocess.run(["qemu-img", "convert", "-O", "qcow2", str(vm.overlay),
                                str(image / "base.qcow2")], check=True)
            for name in ("vmlinuz", "initrd.img"):
                shutil.copy(base / name, image / name)
            (image / "manifest.txt").write_text(
                f"base {base}\nadded {' '.join(names)}\n")
            image.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    _log(f"ready: {target}")
    return target


if __name__ == "__main__":
    print(build())
