"""Keeps the one-host storage node running: the VM, and cinderblock-volume inside it.

`make up` starts this as a detached process because the VM is tied to the process that
boots it (QEMU dies with its parent, so a crashed harness never leaves a VM behind); this
process is that parent and lives until `make down` sends it SIGTERM. It then stops the
agent, flushes the guest and powers it off.

The VM's disk (an overlay over the image, holding the VG and so every volume) and the
image it was made from live in the state directory, so volumes survive `make down` /
`make up` and later image builds. The agent's log
is copied from the guest to the host's log directory, next to the API's and the
scheduler's, so one grep over that directory follows a request through all three.

    storage_node.py --state DIR --config FILE [--vg-size 10G] [--iscsi-port 3260]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import socketserver
import sys
import threading
import time
import traceback
from pathlib import Path

from tests.storage_vm.vm import GuestProcess, StorageVM, StorageVMError, build_image

GUEST_CONFIG = "/etc/cinderblock/cinderblock.conf"
GUEST_LOG = "/var/log/cinderblock/cinderblock-volume.log"
AGENT_COMMAND = (f"cd {StorageVM.src} && CINDERBLOCK_CONFIG_FILES={GUEST_CONFIG} "
                 "exec ./etc/cinderblock-service volume")
POLL_SECONDS = 2.0
RESTART_DELAY = 5.0


class StorageNode:
    """The VM plus its agent, with the paths `make up` and `make down` agree on."""

    def __init__(self, state: Path, config_text: str, vg_size: str, iscsi_port: int) -> None:
        self.state = state
        self.config_text = config_text
        self.disk = state / "vm" / "overlay.qcow2"
        # The disk is a qcow2 overlay over this image (hard links to the cached build): a
        # newer image build, or the cache pruning old ones, never pulls it from under the
        # volumes. A fresh image comes with `make down PURGE=1`.
        self.image = state / "vm" / "image"
        self.host_log = state / "log" / "cinderblock-volume.log"
        self.ready_file = state / "run" / "storage-node.ready"
        self.command_socket = state / "run" / "storage-node.sock"
        self.vm = StorageVM(vg_size=vg_size, iscsi_host_port=iscsi_port)
        self.agent: GuestProcess | None = None
        self._log_offset = 0

    def start(self) -> None:
        self.disk.parent.mkdir(parents=True, exist_ok=True)
        if not self.image.exists():
            _link_tree(build_image(), self.image)
        self.vm.image_dir = self.image
        if self.disk.exists():
            self.vm.overlay.symlink_to(self.disk)
        self.vm.start()
        if not self.vm.overlay.is_symlink():
            # First boot: the harness made the overlay in its private folder. Renaming it
            # (same filesystem, QEMU keeps its open file) puts it where it outlives the VM.
            os.replace(self.vm.overlay, self.disk)
            self.vm.overlay.symlink_to(self.disk)
        self.vm.run(f"mkdir -p {shlex.quote(os.path.dirname(GUEST_CONFIG))}", check=True)
        self.vm.write_file(GUEST_CONFIG, self.config_text)
        self._log_offset = self._guest_log_size()
        self.agent = self.vm.spawn(AGENT_COMMAND, GUEST_LOG)
        self._serve_commands()
        self.ready_file.write_text(json.dumps({
            "supervisor_pid": os.getpid(), "qemu_pid": self.vm.qemu_pid,
            "iscsi_host_port": self.vm.iscsi_host_port, "agent_guest_pid": self.agent.pid,
            "boot_seconds": self.vm.boot_seconds}))

    def watch(self) -> None:
        """Copy the agent's new log lines; restart the agent if it died."""
        self._copy_log()
        if self.agent is not None and not self.agent.alive():
            self._note(f"cinderblock-volume (guest pid {self.agent.pid}) exited; "
                       f"restarting in {RESTART_DELAY:g} s")
            time.sleep(RESTART_DELAY)
            self.agent = self.vm.spawn(AGENT_COMMAND, GUEST_LOG)

    def stop(self) -> None:
        try:
            if self.agent is not None and self.vm.running:
                self.agent.stop()
                self._copy_log()
        finally:
            self.ready_file.unlink(missing_ok=True)
            self.command_socket.unlink(missing_ok=True)
            self.vm.close()

    def _serve_commands(self) -> None:
        """`onehost.py guest CMD` (and the deploy test) run guest commands through this
        process: the guest agent's channel takes one host client, and it is ours."""
        vm = self.vm

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                request = json.loads(self.rfile.readline())
                try:
                    result = vm.run(request["cmd"], timeout=float(request.get("timeout", 120)))
                    answer = {"rc": result.rc, "stdout": result.stdout,
                              "stderr": result.stderr}
                except StorageVMError as exc:
                    answer = {"rc": -1, "stdout": "", "stderr": str(exc)}
                self.wfile.write(json.dumps(answer).encode() + b"\n")

        self.command_socket.unlink(missing_ok=True)
        server = socketserver.ThreadingUnixStreamServer(str(self.command_socket), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, name="guest-commands",
                         daemon=True).start()

    def _guest_log_size(self) -> int:
        result = self.vm.run(f"stat -c %s {GUEST_LOG} 2>/dev/null || echo 0")
        return int(result.stdout.strip() or 0)

    def _copy_log(self) -> None:
        result = self.vm.run(f"tail -c +{self._log_offset + 1} {GUEST_LOG} 2>/dev/null")
        if result.stdout:
            with open(self.host_log, "a") as log:
                log.write(result.stdout)
            self._log_offset += len(result.stdout.encode())

    def _note(self, message: str) -> None:
        print(f"storage-node: {message}", file=sys.stderr, flush=True)


def _link_tree(source: Path, target: Path) -> None:
    """Hard-link ``source`` into ``target`` (copy across filesystems), whole or not at all."""
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)

    def link_or_copy(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, partial, copy_function=link_or_copy)
    partial.rename(target)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--config", type=Path, required=True,
                        help="the agent's cinderblock.conf, copied into the guest")
    parser.add_argument("--vg-size", default="10G")
    parser.add_argument("--iscsi-port", type=int, default=3260)
    opts = parser.parse_args()
    node = StorageNode(opts.state, opts.config.read_text(), opts.vg_size, opts.iscsi_port)
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        # While booting, stop at once (close() still powers the VM off); once serving, let
        # the current guest command finish so the command channel stays in step.
        stop.set()
        if node.agent is None:
            raise SystemExit(f"signal {signum} while starting")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    failed = opts.state / "run" / "storage-node.failed"
    failed.unlink(missing_ok=True)
    try:
        node.start()
        while not stop.wait(POLL_SECONDS):
            node.watch()
    except Exception:
        failed.write_text(traceback.format_exc())
        raise
    finally:
        node.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
