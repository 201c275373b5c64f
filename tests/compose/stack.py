"""The compose stack of `make compose-test`: the storage-node VM booted on its Docker
variant (tests/compose/image.py), and docker-compose.yml brought up inside it with the
test override, the way an operator runs it on a storage host.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.compose import image
from tests.storage_vm.vm import StorageVM, free_port

HERE = Path(__file__).resolve().parent
COMPOSE = ("cd /mnt/src && docker-compose -p cinderblock -f docker-compose.yml "
           "-f etc/compose/docker-compose.test.yml")
API_PORT = 8776
CONTAINERS = "docker ps -a --format '{{.Names}} {{.Status}}' | sort | paste -sd ';'"
# MariaDB's first start, RabbitMQ's Erlang and the schema sync, one after the other under
# emulation on one vCPU of a shared host.
UP_TIMEOUT = 1800


def _hostfwd(vm: StorageVM, host_port: int, guest_port: int) -> None:
    """Forward 127.0.0.1:host_port to the guest's port, at run time, through QEMU's monitor."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(10)
        sock.connect(str(vm.workdir / "qmp.sock"))
        stream = sock.makefile("rwb")
        stream.readline()
        for command in ({"execute": "qmp_capabilities"},
                        {"execute": "human-monitor-command", "arguments": {
                            "command-line": f"hostfwd_add net0 tcp:127.0.0.1:{host_port}-:"
                                            f"{guest_port}"}}):
            stream.write(json.dumps(command).encode() + b"\n")
            stream.flush()
            while True:
                answer = json.loads(stream.readline())
                if "return" in answer or "error" in answer:
                    break
            assert "error" not in answer and not answer["return"], answer


def compose(vm: StorageVM, arguments: str, timeout: float = 600) -> str:
    return vm.run(f"{COMPOSE} {arguments}", timeout=timeout, check=True).stdout


@contextmanager
def running_stack(timings: dict[str, float]) -> Iterator[tuple[StorageVM, str]]:
    """The VM with the compose stack up; yields it and the API's URL on this host."""
    started = time.monotonic()
    image_dir = image.build()
    timings["image"] = time.monotonic() - started
    # One vCPU: multi-threaded TCG soft-locked the guest at a container's first start in
    # the measured recipe; one is slower but did not.
    with StorageVM(image_dir=image_dir, memory_mib=2560, cpus=1, vg_size="12G") as vm:
        timings["boot"] = vm.boot_seconds or 0.0
        mark = time.monotonic()
        vm.run("bash -s", input=(HERE / "guest/start-docker.sh").read_text(), timeout=300,
               check=True)
        timings["docker"] = time.monotonic() - mark
        # The init made the VG; remove it so the compose file's make-vg makes it, as on a
        # host without one.
        vm.run("vgremove -qq -f cinder-volumes && losetup -D && rm -f /var/lib/cinder/*.img",
               check=True)
        mark = time.monotonic()
        try:
            image.follow(vm, f"{COMPOSE} up -d --no-build", "compose-up", UP_TIMEOUT,
                         status=CONTAINERS)
            timings["compose up"] = time.monotonic() - mark
            port = free_port()
            _hostfwd(vm, port, API_PORT)
            yield vm, f"http://127.0.0.1:{port}"
        finally:
            print(compose(vm, "ps"), vm.run(f"{COMPOSE} logs --no-color --tail=40",
                                           timeout=120).stdout)
            mark = time.monotonic()
            compose(vm, "down -t 10")
            timings["compose down"] = time.monotonic() - mark
