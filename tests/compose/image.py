"""The Docker variant of the storage-node image, for `make compose-test`.

It is the default image (tests/storage_vm/build.sh, untouched, so its hash and everyone's
cached copy stay) plus Debian's docker.io and docker-compose v1, with the containers' root
filesystem (tests/compose/rootfs.sh) already imported under the image names
docker-compose.yml uses. The packages go in on the host (install-debs.sh, a loop-mounted
copy of the image: dpkg under TCG took over 30 minutes on a busy machine); only the import
needs Docker, so it alone runs in a VM, once, and the result is flattened into its own
cached qcow2 under $CINDERBLOCK_CACHE/compose/<recipe hash>/; later runs boot it directly.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

from tests.storage_vm.vm import StorageVM, build_image

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CACHE = Path(os.environ.get("CINDERBLOCK_CACHE", "/var/cache/cinderblock")) / "compose"
PACKAGES = REPO / "tests/storage_vm/packages-docker.txt"
# What the containers' root filesystem is made of, and what the image adds to it.
ROOTFS_RECIPE = [HERE / "rootfs.sh", REPO / "Dockerfile",
                 REPO / "tests/storage_vm/guest/lvmlocal.conf"]
RECIPE = [*ROOTFS_RECIPE, HERE / "image.py", HERE / "install-debs.sh",
          HERE / "guest/import-images.sh", HERE / "guest/start-docker.sh", PACKAGES]
IMPORT_TIMEOUT = 3600
# `apt-cache depends --recurse` lists every alternative of an or-dependency; the default
# image already satisfies these ones another way (debconf, libsystemd0, usr-is-merged).
ALTERNATIVES_NOT_TAKEN = {"cdebconf", "libdebian-installer4", "libnewt0.52", "libslang2",
                          "libtextwrap1", "libelogind0", "usrmerge", "libfile-find-rule-perl",
                          "libnumber-compare-perl", "libtext-glob-perl"}


def _log(message: str) -> None:
    print(f"compose image: {message}", file=sys.stderr, flush=True)


def recipe_hash(paths: list[Path], salt: str = "") -> str:
    digest = hashlib.sha256(salt.encode())
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    # Of pyproject.toml, only what rootfs.sh installs: other edits must not rebuild anything.
    dependencies = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    digest.update("\n".join(dependencies).encode())
    return digest.hexdigest()[:16]


def rootfs() -> Path:
    """The containers' root filesystem tar (rootfs.sh), cached on its own recipe: it takes
    minutes and changes less often than the image around it. Call with the build lock held."""
    tar = CACHE / f"rootfs-{recipe_hash(ROOTFS_RECIPE)}.tar"
    if not tar.exists():
        for old in CACHE.glob("rootfs-*.tar"):
            old.unlink()
        _log("containers' root filesystem")
        subprocess.run(["bash", str(HERE / "rootfs.sh"), str(tar)], check=True)
    return tar


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


def _qemu_img(*args: str | Path) -> None:
    subprocess.run(["qemu-img", *map(str, args)], check=True)


def follow(vm: StorageVM, command: str, name: str, timeout: float,
           status: str | None = None) -> None:
    """Run a long guest command in the background and echo its output as it comes, plus
    what ``status`` prints whenever that changes: under emulation on a shared host these take
    minutes, and a silent wait looks like a hang. Raises if it fails or outlives ``timeout``."""
    log = f"/var/log/{name}.log"
    process = vm.spawn(f"{command}; echo \"{name} exit status $?\"", log)
    deadline = time.monotonic() + timeout
    shown, last_status = 0, ""
    while True:
        alive = process.alive()
        output = process.output()
        for line in output[shown:].splitlines():
            _log(f"{name}: {line}")
        shown = len(output)
        if status and alive:
            now = vm.run(status, timeout=120).stdout.strip()
            if now != last_status:
                _log(f"{name}: {now}")
                last_status = now
        if not alive:
            break
        if time.monotonic() > deadline:
            process.stop("KILL")
            raise TimeoutError(f"{name} still running after {timeout:g} s")
        time.sleep(10)
    if f"{name} exit status 0" not in output:
        raise RuntimeError(f"{name} failed in the guest (its output is above)")


def build() -> Path:
    """The cached image folder (base.qcow2, vmlinuz, initrd.img), built first if missing."""
    base = build_image()
    target = CACHE / recipe_hash(RECIPE, base.name)
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
            os.link(rootfs(), share / "rootfs.tar")
            names = download_debs(base, share / "debs")
            _log(f"{len(names)} packages for the guest: {' '.join(names)}")
            installed = staging / "installed"
            installed.mkdir()
            raw = staging / "root.raw"
            _qemu_img("convert", "-O", "raw", base / "base.qcow2", raw)
            mark = time.monotonic()
            subprocess.run(["bash", str(HERE / "install-debs.sh"), str(raw), str(share / "debs")],
                           check=True)
            _log(f"installed on the host in {time.monotonic() - mark:.0f} s")
            _qemu_img("convert", "-O", "qcow2", raw, installed / "base.qcow2")
            raw.unlink()
            for name in ("vmlinuz", "initrd.img"):
                shutil.copy(base / name, installed / name)
            for script in ("import-images.sh", "start-docker.sh"):
                shutil.copy(HERE / "guest" / script, share / script)
            image = staging / "image"
            image.mkdir()
            with StorageVM(image_dir=installed, source_dir=share, memory_mib=2048, cpus=1,
                           vg_size="2G") as vm:
                follow(vm, "bash /mnt/src/import-images.sh", "import-images",
                       IMPORT_TIMEOUT)
                vm.stop()
                _qemu_img("convert", "-O", "qcow2", vm.overlay, image / "base.qcow2")
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
