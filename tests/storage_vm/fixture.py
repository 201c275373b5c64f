"""pytest plugin: one storage-node VM per session for every test that asks for `storage_vm`.

Booting under TCG costs tens of seconds, so the VM is shared by the whole session and booted
only if a selected test needs it. Its boot-to-ready time and QEMU's peak memory are reported in
the terminal summary, the guest console (and the guest commands run) go into a failing test's
report, and the VM is always shut down, also on errors and Ctrl-C.

Register with `pytest_plugins = ["tests.storage_vm.fixture"]` in tests/conftest.py; override
`storage_vm_options` in a conftest to change the VG size, memory or guest->host forwards.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass, field

import pytest

from tests.storage_vm.vm import StorageVM

_console_offset = pytest.StashKey[int]()
_commands_offset = pytest.StashKey[int]()


@dataclass(frozen=True)
class StorageVMOptions:
    vg_size: str = "10G"
    memory_mib: int = 1024
    cpus: int = 2
    # {guest port on 10.0.2.100: host port on 127.0.0.1}; RabbitMQ's 5672 is always forwarded.
    guest_forwards: Mapping[int, int] = field(default_factory=dict)


class _Session:
    vm: StorageVM | None = None
    summary: list[str] = []


@pytest.fixture(scope="session")
def storage_vm_options() -> StorageVMOptions:
    """The session VM's settings; CINDERBLOCK_VM_VG_SIZE sets the VG size without a conftest."""
    return StorageVMOptions(vg_size=os.environ.get("CINDERBLOCK_VM_VG_SIZE", "10G"))


@pytest.fixture(scope="session")
def storage_vm(storage_vm_options: StorageVMOptions) -> Iterator[StorageVM]:
    vm = StorageVM(
        vg_size=storage_vm_options.vg_size,
        memory_mib=storage_vm_options.memory_mib,
        cpus=storage_vm_options.cpus,
        guest_forwards=storage_vm_options.guest_forwards,
    )
    _Session.vm = vm
    try:
        vm.start()
        _Session.summary.append(
            f"boot-to-ready {vm.boot_seconds:.1f} s; iSCSI forwarded from "
            f"127.0.0.1:{vm.iscsi_host_port}; work folder {vm.workdir}"
        )
        yield vm
    finally:
        try:
            vm.stop()
            if vm.peak_rss_kib:
                _Session.summary.append(
                    f"QEMU peak RSS (VmHWM) {vm.peak_rss_kib / 1024:.0f} MiB; "
                    f"{vm.commands_run} guest commands"
                )
        finally:
            vm.close()
            _Session.vm = None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    vm = _Session.vm
    item.stash[_console_offset] = len(vm.console_log()) if vm else 0
    item.stash[_commands_offset] = vm.commands_run if vm else 0


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    vm = _Session.vm
    if report.failed and vm is not None and "storage_vm" in getattr(item, "fixturenames", ()):
        console = vm.console_log()[item.stash.get(_console_offset, 0):]
        report.sections.append(
            (f"storage-vm console ({report.when})", console or "(nothing printed)")
        )
        new = vm.commands_run - item.stash.get(_commands_offset, 0)
        recent = list(vm.history)[-new:] if new > 0 else []
        report.sections.append((f"storage-vm commands ({report.when})", "\n".join(
            f"[rc={r.rc} {r.duration:.2f}s] {r.cmd}\n{_indent(r.stdout)}{_indent(r.stderr)}"
            for r in recent
        ) or "(none)"))
    return report


def _indent(text: str, limit: int = 2000) -> str:
    if not text:
        return ""
    text = text if len(text) <= limit else f"[...]{text[-limit:]}"
    return "".join(f"    {line}\n" for line in text.rstrip("\n").splitlines())


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _Session.summary:
        terminalreporter.section("storage-vm")
        for line in _Session.summary:
            terminalreporter.write_line(line)
