"""Boot and drive the storage-node test VM: real LVM2, LIO and open-iscsi under QEMU TCG.

The host kernel has no device-mapper or LIO, so everything the volume agent does to storage is
tested inside this VM. The handle is plain Python (stdlib only) so that pytest fixtures, `make`
targets and benchmarks can all use it.

Commands reach the guest through the QEMU guest agent (C, over virtio-serial): no network path
to the guest is needed for control, and there is no Python start-up cost per command under
emulation. The network is QEMU user-mode with `restrict=on`, so the guest reaches nothing but the
explicit forwards, all on the host's 127.0.0.1.
"""

from __future__ import annotations

import argparse
import atexit
import base64
import contextlib
import ctypes
import json
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
BUILD_SCRIPT = HERE / "build.sh"

GUEST_ADDRESS = "10.0.2.15"
HOST_ADDRESS_FROM_GUEST = "10.0.2.100"
GUEST_SRC = "/mnt/src"
ISCSI_PORT = 3260
RABBITMQ_PORT = 5672
READY_MARKER = "CINDERBLOCK-READY"
FAILED_MARKER = "CINDERBLOCK-INIT-FAILED"
# Room the root filesystem needs beside the VG's loop file (system, logs, pycache, headroom).
ROOT_HEADROOM = 4 << 30


@dataclass(frozen=True)
class Result:
    """Outcome of one guest command; `duration` is wall time seen by the host."""

    cmd: str
    rc: int
    stdout: str
    stderr: str
    duration: float


class StorageVMError(Exception):
    """The VM could not be booted, reached or shut down."""


class GuestCommandError(StorageVMError):
    """A guest command failed; carries everything needed to understand why without re-running."""

    def __init__(self, result: Result, reason: str | None = None) -> None:
        self.result = result
        self.cmd = result.cmd
        self.rc = result.rc
        self.stdout = result.stdout
        self.stderr = result.stderr
        super().__init__(
            f"{reason or f'guest command failed with rc={result.rc}'}: {result.cmd}\n"
            f"--- stdout\n{_tail(result.stdout)}\n--- stderr\n{_tail(result.stderr)}"
        )


class GuestCommandTimeout(GuestCommandError):
    """A guest command outlived its timeout and was killed in the guest."""


def _tail(text: str, limit: int = 4000) -> str:
    return text if len(text) <= limit else f"[... {len(text) - limit} chars]\n{text[-limit:]}"


def parse_size(size: str | int) -> int:
    """Bytes in a size given like truncate(1) takes it (binary suffixes K, M, G, T)."""
    if isinstance(size, int):
        return size
    match = re.fullmatch(r"\s*(\d+)\s*([KMGT]?)(?:i?B)?\s*", size, re.IGNORECASE)
    if not match:
        raise ValueError(f"not a size: {size!r}")
    return int(match[1]) << (10 * " KMGT".index(match[2].upper() or " "))


def free_port() -> int:
    """A port free on 127.0.0.1 right now, so several VMs (and `make up`) can coexist."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def build_image() -> Path:
    """The cached image folder, built first when the recipe changed (build.sh is a no-op then)."""
    proc = subprocess.run(
        ["bash", str(BUILD_SCRIPT)], stdout=subprocess.PIPE, text=True, check=False
    )
    if proc.returncode != 0:
        raise StorageVMError(f"{BUILD_SCRIPT} failed with rc={proc.returncode}")
    return Path(proc.stdout.strip().splitlines()[-1])


class _LineChannel:
    """A JSON-lines socket client shared by the guest-agent and QMP connections."""

    def __init__(self, path: Path, timeout: float) -> None:
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        self._sock.connect(str(path))
        self._buf = b""

    def send(self, message: Mapping[str, Any], prefix: bytes = b"") -> None:
        self._sock.sendall(prefix + json.dumps(message).encode() + b"\n")

    def skip_past(self, marker: bytes, deadline: float) -> None:
        while marker not in self._buf:
            self._buf += self._recv(deadline)
        self._buf = self._buf.split(marker, 1)[1]

    def receive(self, deadline: float) -> dict[str, Any]:
        while b"\n" not in self._buf:
            self._buf += self._recv(deadline)
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line) if line.strip() else self.receive(deadline)

    def _recv(self, deadline: float) -> bytes:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no answer in time")
        self._sock.settimeout(remaining)
        data = self._sock.recv(1 << 20)
        if not data:
            raise ConnectionError("connection closed")
        return data

    def close(self) -> None:
        self._sock.close()


class GuestAgent:
    """Client of qemu-ga's JSON protocol on the host side of its virtio-serial port.

    The channel has no framing of its own: a request interrupted by a timeout can leave a stale
    answer behind, so every (re)connection starts with guest-sync-delimited and a fresh id, and
    any error drops the connection so that the next call re-synchronises.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._chan: _LineChannel | None = None
        self._lock = threading.Lock()
        self._sync_id = int(time.time() * 1000) % 1_000_000_000

    def call(self, command: str, arguments: Mapping[str, Any] | None = None,
             timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        request: dict[str, Any] = {"execute": command}
        if arguments:
            request["arguments"] = dict(arguments)
        with self._lock:
            try:
                chan = self._connected(deadline)
                chan.send(request)
                answer = chan.receive(deadline)
            except (OSError, TimeoutError, ValueError):
                self._drop()
                raise
        if "error" in answer:
            raise StorageVMError(f"guest agent: {command}: {answer['error'].get('desc', answer)}")
        return answer.get("return")

    def _connected(self, deadline: float) -> _LineChannel:
        if self._chan is None:
            chan = _LineChannel(self.path, max(0.1, deadline - time.monotonic()))
            try:
                self._sync_id += 1
                # 0xFF resets the agent's parser; the answer is preceded by 0xFF too.
                chan.send({"execute": "guest-sync-delimited",
                           "arguments": {"id": self._sync_id}}, prefix=b"\xff")
                while True:
                    chan.skip_past(b"\xff", deadline)
                    if chan.receive(deadline).get("return") == self._sync_id:
                        break
            except BaseException:
                chan.close()
                raise
            self._chan = chan
        return self._chan

    def _drop(self) -> None:
        if self._chan is not None:
            self._chan.close()
            self._chan = None

    def close(self) -> None:
        with self._lock:
            self._drop()


class GuestProcess:
    """A long-running guest process started by `StorageVM.spawn` (e.g. the volume agent)."""

    def __init__(self, vm: StorageVM, pid: int, log: str) -> None:
        self.vm = vm
        self.pid = pid
        self.log = log

    def alive(self) -> bool:
        return self.vm.run(f"kill -0 {self.pid}").rc == 0

    def output(self) -> str:
        return self.vm.read_file(self.log)

    def stop(self, sig: str = "TERM", timeout: float = 15.0) -> None:
        """Signal the process (its whole session) and wait until it is gone."""
        self.vm.run(
            f"kill -{sig} -- -{self.pid} 2>/dev/null || kill -{sig} {self.pid} 2>/dev/null;"
            f" for _ in $(seq {int(timeout * 10)}); do kill -0 {self.pid} 2>/dev/null || exit 0;"
            f" sleep 0.1; done; exit 1",
            timeout=timeout + 10,
            check=True,
        )


def _die_with_parent() -> None:
    """QEMU must not outlive a test run that was killed without a chance to clean up."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class StorageVM:
    """The storage-node VM: boots a cached image with a fresh qcow2 overlay, runs guest commands.

    The overlay lives in a private work folder for the life of this object, so `reboot()` (or
    `stop()` then `start()`) keeps every LV and file; `close()` removes it. The guest-side iSCSI
    port 3260 is forwarded from `iscsi_host_port` on 127.0.0.1; inside the guest,
    `host_address_from_guest` (10.0.2.100) reaches the host's RabbitMQ and any port named in
    `guest_forwards` ({guest port on 10.0.2.100: host port on 127.0.0.1}).
    """

    host_address_from_guest = HOST_ADDRESS_FROM_GUEST
    guest_address = GUEST_ADDRESS
    src = GUEST_SRC

    def __init__(
        self,
        *,
        vg_size: str | int = "10G",
        guest_forwards: Mapping[int, int] | None = None,
        memory_mib: int = 1024,
        cpus: int = 2,
        image_dir: Path | None = None,
        source_dir: Path = REPO_ROOT,
        iscsi_host_port: int | None = None,
        ready_timeout: float = 300.0,
        kernel_args: str = "",
        die_with_parent: bool = True,
    ) -> None:
        self.vg_size = parse_size(vg_size)
        self.guest_forwards = {RABBITMQ_PORT: RABBITMQ_PORT, **(guest_forwards or {})}
        self.memory_mib = memory_mib
        self.cpus = cpus
        self.image_dir = image_dir
        self.source_dir = Path(source_dir).resolve()
        self._fixed_iscsi_port = iscsi_host_port is not None
        self.iscsi_host_port = iscsi_host_port or 0
        self.ready_timeout = ready_timeout
        self.kernel_args = kernel_args
        self.die_with_parent = die_with_parent
        self.workdir = Path(tempfile.mkdtemp(prefix="cinderblock-storage-vm-", dir="/var/tmp"))
        self.console_path = self.workdir / "console.log"
        self.agent = GuestAgent(self.workdir / "qga.sock")
        self.boot_seconds: float | None = None
        self.history: deque[Result] = deque(maxlen=100)
        self.commands_run = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._peak_rss_kib = 0
        self._closed = False
        atexit.register(self.close)

    # ----- lifecycle -----

    def __enter__(self) -> StorageVM:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def qemu_pid(self) -> int | None:
        return self._proc.pid if self.running and self._proc else None

    @property
    def overlay(self) -> Path:
        return self.workdir / "overlay.qcow2"

    def start(self) -> None:
        """Boot (reusing an earlier boot's overlay, if any) and wait until the guest is ready."""
        if self._closed:
            raise StorageVMError("this StorageVM was closed; make a new one")
        if self.running:
            return
        if self.image_dir is None:
            self.image_dir = build_image()
        if not self.overlay.exists():
            self._create_overlay()
        for attempt in range(3):
            if not self._fixed_iscsi_port and (attempt or not self.iscsi_host_port):
                self.iscsi_host_port = free_port()
            try:
                self._boot()
                return
            except _PortTaken:
                if self._fixed_iscsi_port:
                    raise StorageVMError(
                        f"127.0.0.1:{self.iscsi_host_port} is in use; cannot forward iSCSI"
                    ) from None
        raise StorageVMError("no free host port for the iSCSI forward after 3 tries")

    def stop(self, graceful: bool = True) -> None:
        """Power the VM off, keeping its disk. `graceful` flushes the guest's caches first."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            if graceful:
                with contextlib.suppress(StorageVMError, OSError, TimeoutError, ValueError):
                    self.run("sync", timeout=60)
            self._sample_rss()
            with contextlib.suppress(OSError, TimeoutError, ValueError):
                self._qmp_quit()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.agent.close()
        self._proc = None

    def _qmp_quit(self) -> None:
        """Ask QEMU to exit, closing its images cleanly (qcow2 metadata under cache=unsafe).

        Each command must be answered before the next is sent and before hanging up: QEMU
        drops queued commands of a connection that closes.
        """
        qmp = _LineChannel(self.workdir / "qmp.sock", 5)
        try:
            deadline = time.monotonic() + 10
            qmp.receive(deadline)  # greeting
            for command in ("qmp_capabilities", "quit"):
                qmp.send({"execute": command})
                while "return" not in qmp.receive(deadline):
                    pass  # events
        finally:
            qmp.close()

    def reboot(self, graceful: bool = True) -> None:
        """Power-cycle with the same disk: LVs and the VG survive, LIO and iSCSI sessions do not.

        With `graceful=False` the guest gets no chance to flush, like a power cut.
        """
        self.stop(graceful=graceful)
        self.start()

    def close(self) -> None:
        """Shut down and delete the overlay; safe to call more than once."""
        if self._closed:
            return
        try:
            self.stop()
        finally:
            self._closed = True
            shutil.rmtree(self.workdir, ignore_errors=True)
            atexit.unregister(self.close)

    @property
    def peak_rss_kib(self) -> int:
        """QEMU's peak resident memory (VmHWM), the highest over all boots of this VM."""
        self._sample_rss()
        return self._peak_rss_kib

    def console_log(self) -> str:
        """Everything the guest printed on its serial console, over all boots."""
        try:
            return self.console_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # ----- guest commands -----

    def run(self, cmd: str, timeout: float = 120, check: bool = False,
            input: str | None = None) -> Result:
        """Run `bash -c cmd` as root in the guest and wait for it.

        The guest's `timeout` enforces the limit, so a hung command is really killed; a command
        killed that way raises GuestCommandTimeout whatever `check` says.
        """
        if not self.running:
            raise StorageVMError("the VM is not running")
        started = time.monotonic()
        args: dict[str, Any] = {
            "path": "/usr/bin/timeout",
            "arg": ["--kill-after=5", f"{timeout:g}s", "/bin/bash", "-c", cmd],
            "capture-output": True,
        }
        if input is not None:
            args["input-data"] = base64.b64encode(input.encode()).decode()
        pid = self.agent.call("guest-exec", args)["pid"]
        deadline = started + timeout + 30
        delay = 0.002
        while True:
            status = self.agent.call("guest-exec-status", {"pid": pid})
            if status["exited"]:
                break
            if time.monotonic() > deadline:
                raise GuestCommandTimeout(
                    Result(cmd, -1, "", "", time.monotonic() - started),
                    f"guest command did not finish within {timeout:g} s (+30 s grace)",
                )
            time.sleep(delay)
            delay = min(delay * 1.5, 0.05)
        rc = status["exitcode"] if "exitcode" in status else 128 + status.get("signal", 0)
        result = Result(
            cmd,
            rc,
            base64.b64decode(status.get("out-data", "")).decode(errors="replace"),
            base64.b64decode(status.get("err-data", "")).decode(errors="replace"),
            time.monotonic() - started,
        )
        self.history.append(result)
        self.commands_run += 1
        if rc in (124, 137) and result.duration >= timeout:
            raise GuestCommandTimeout(result, f"guest command killed after {timeout:g} s")
        if check and rc != 0:
            raise GuestCommandError(result)
        return result

    def spawn(self, cmd: str, log: str) -> GuestProcess:
        """Start `bash -c cmd` in the background in its own session, output appended to `log`."""
        quoted_log = shlex.quote(log)
        # Only the detached process goes to the background: anything else left holding the
        # captured stdout would keep the guest agent waiting for its end.
        result = self.run(
            f"mkdir -p \"$(dirname {quoted_log})\" && "
            f"{{ setsid bash -c {shlex.quote(cmd)} >>{quoted_log} 2>&1 </dev/null & echo $!; }}",
            check=True,
        )
        return GuestProcess(self, int(result.stdout.strip()), log)

    def read_bytes(self, path: str) -> bytes:
        handle = self.agent.call("guest-file-open", {"path": path, "mode": "r"})
        chunks = []
        try:
            while True:
                part = self.agent.call("guest-file-read", {"handle": handle, "count": 1 << 20})
                chunks.append(base64.b64decode(part["buf-b64"]))
                if part["eof"]:
                    break
        finally:
            self.agent.call("guest-file-close", {"handle": handle})
        return b"".join(chunks)

    def write_bytes(self, path: str, data: bytes, mode: int | None = None) -> None:
        handle = self.agent.call("guest-file-open", {"path": path, "mode": "w"})
        try:
            for offset in range(0, max(len(data), 1), 1 << 20):
                chunk = data[offset:offset + (1 << 20)]
                self.agent.call("guest-file-write",
                                {"handle": handle, "buf-b64": base64.b64encode(chunk).decode()})
        finally:
            self.agent.call("guest-file-close", {"handle": handle})
        if mode is not None:
            self.run(f"chmod {mode:o} {shlex.quote(path)}", check=True)

    def read_file(self, path: str) -> str:
        return self.read_bytes(path).decode()

    def write_file(self, path: str, text: str, mode: int | None = None) -> None:
        self.write_bytes(path, text.encode(), mode)

    # ----- internals -----

    def _create_overlay(self) -> None:
        assert self.image_dir is not None
        base = self.image_dir / "base.qcow2"
        info = json.loads(subprocess.run(
            ["qemu-img", "info", "--output=json", str(base)],
            capture_output=True, text=True, check=True,
        ).stdout)
        size = max(int(info["virtual-size"]), self.vg_size + ROOT_HEADROOM)
        subprocess.run(
            ["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(base), "-F", "qcow2",
             str(self.overlay), str(size)],
            check=True,
        )

    def qemu_command(self, interactive: bool = False) -> list[str]:
        """The QEMU command line; `interactive` puts the console on this terminal instead."""
        assert self.image_dir is not None
        forwards = ",".join(
            f"guestfwd=tcp:{HOST_ADDRESS_FROM_GUEST}:{guest}-cmd:socat - TCP:127.0.0.1:{host}"
            for guest, host in sorted(self.guest_forwards.items())
        )
        # mitigations=off: page-table isolation and friends make every guest syscall costlier
        # under TCG, and protect nothing in a throw-away test VM.
        append = " ".join(filter(None, [
            "root=/dev/vda rw rootfstype=ext4 console=ttyS0,115200 net.ifnames=0",
            "init=/sbin/cinderblock-init panic=-1 loglevel=4 mitigations=off",
            f"cinderblock.vg_size={self.vg_size}",
            "cinderblock.shell=1" if interactive else "",
            self.kernel_args,
        ]))
        console = (
            ["-serial", "mon:stdio"] if interactive else
            ["-chardev", f"file,id=console,path={self.console_path},append=on",
             "-serial", "chardev:console"]
        )
        return [
            "qemu-system-x86_64", "-name", "cinderblock-storage-node",
            "-machine", "q35", "-accel", "tcg,tb-size=256", "-cpu", "max",
            "-smp", str(self.cpus), "-m", str(self.memory_mib),
            "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
            "-kernel", str(self.image_dir / "vmlinuz"),
            "-initrd", str(self.image_dir / "initrd.img"),
            "-append", append,
            "-drive", f"file={self.overlay},if=virtio,format=qcow2,cache=unsafe,discard=unmap",
            "-netdev", f"user,id=net0,restrict=on,"
                       f"hostfwd=tcp:127.0.0.1:{self.iscsi_host_port}-:{ISCSI_PORT},{forwards}",
            "-device", "virtio-net-pci,netdev=net0",
            "-virtfs", f"local,path={self.source_dir},mount_tag=src,security_model=none,"
                       "readonly=on,id=src",
            "-chardev", f"socket,id=qga,path={self.agent.path},server=on,wait=off",
            "-device", "virtio-serial-pci",
            "-device", "virtserialport,chardev=qga,name=org.qemu.guest_agent.0",
            "-qmp", f"unix:{self.workdir / 'qmp.sock'},server=on,wait=off",
            *console,
        ]

    def _boot(self) -> None:
        console_offset = self.console_path.stat().st_size if self.console_path.exists() else 0
        qemu_log = self.workdir / "qemu.log"
        started = time.monotonic()
        with open(qemu_log, "wb") as log:
            self._proc = subprocess.Popen(
                self.qemu_command(), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True,
                preexec_fn=_die_with_parent if self.die_with_parent else None,
            )
        try:
            self._wait_ready(console_offset, qemu_log, started)
        except BaseException:
            self.stop(graceful=False)
            raise
        self.boot_seconds = time.monotonic() - started

    def _wait_ready(self, console_offset: int, qemu_log: Path, started: float) -> None:
        assert self._proc is not None
        deadline = started + self.ready_timeout
        while True:
            console = self.console_log()[console_offset:]
            if FAILED_MARKER in console:
                raise StorageVMError(f"guest start-up failed:\n{_tail(console)}")
            if self._proc.poll() is not None:
                qemu_said = qemu_log.read_text(errors="replace")
                if "Could not set up host forwarding rule" in qemu_said:
                    raise _PortTaken()
                raise StorageVMError(
                    f"QEMU exited with rc={self._proc.returncode} before the guest was ready\n"
                    f"--- qemu\n{_tail(qemu_said)}\n--- console\n{_tail(console)}"
                )
            if READY_MARKER in console:
                break
            if time.monotonic() > deadline:
                raise StorageVMError(
                    f"guest not ready after {self.ready_timeout:g} s\n--- console\n{_tail(console)}"
                )
            time.sleep(0.1)
        remaining = max(10.0, deadline - time.monotonic())
        self.agent.call("guest-ping", timeout=remaining)

    def _sample_rss(self) -> None:
        pid = self.qemu_pid
        if pid is None:
            return
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    self._peak_rss_kib = max(self._peak_rss_kib, int(line.split()[1]))

    def interactive(self) -> int:
        """Boot with the console on this terminal (a root shell); returns when the guest is off."""
        if self.image_dir is None:
            self.image_dir = build_image()
        if not self.overlay.exists():
            self._create_overlay()
        if not self.iscsi_host_port:
            self.iscsi_host_port = free_port()
        print(
            f"storage-vm: iSCSI on 127.0.0.1:{self.iscsi_host_port}, guest agent socket "
            f"{self.agent.path}; exit the shell (or Ctrl-A X) to power off",
            file=sys.stderr,
        )
        return subprocess.run(self.qemu_command(interactive=True), check=False).returncode


class _PortTaken(Exception):
    """QEMU could not bind the iSCSI forward: another process took the port meanwhile."""


def iter_forwards(specs: list[str]) -> Iterator[tuple[int, int]]:
    for spec in specs:
        guest, _, host = spec.partition(":")
        yield int(guest), int(host or guest)


def main() -> int:
    parser = argparse.ArgumentParser(description="Boot the storage-node VM with a root shell.")
    parser.add_argument("--vg-size", default="10G", help="sparse size of cinder-volumes")
    parser.add_argument("--memory", type=int, default=1024, help="guest memory in MiB")
    parser.add_argument(
        "--forward", action="append", default=[], metavar="GUEST[:HOST]",
        help=f"forward {HOST_ADDRESS_FROM_GUEST}:GUEST in the guest to 127.0.0.1:HOST",
    )
    opts = parser.parse_args()
    vm = StorageVM(vg_size=opts.vg_size, memory_mib=opts.memory,
                   guest_forwards=dict(iter_forwards(opts.forward)), die_with_parent=False)
    try:
        return vm.interactive()
    finally:
        vm.close()


if __name__ == "__main__":
    sys.exit(main())
