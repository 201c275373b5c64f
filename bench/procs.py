"""Processes of a system under test: launched in their own session, measured and ended
through /proc, so children (API workers, per-backend volume processes) count and die too."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def launch(argv: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start ``argv`` as the leader of a new session; everything it forks stays in it."""
    with open(log, "ab") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, env=env)


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def session_members(leaders: Iterable[int]) -> list[int]:
    """Every live process whose session is one of ``leaders``."""
    sessions = set(leaders)
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            # fields[0] is the state, fields[3] the session id (proc(5), after the comm).
            if fields and int(fields[3]) in sessions and fields[0] != "Z":
                members.append(int(entry))
    return members


def rss_kib(pids: Iterable[int]) -> int:
    """Sum of resident set sizes; a process that exits meanwhile counts zero."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * PAGE_KIB
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def terminate(procs: list[subprocess.Popen], grace: float = 15.0) -> None:
    """SIGTERM each session, SIGKILL what is left after ``grace`` seconds, reap leaders."""
    leaders = [p.pid for p in procs]
    for pid in session_members(leaders):
        _signal(pid, signal.SIGTERM)
    _wait_gone(procs, leaders, grace)
    for pid in session_members(leaders):
        _signal(pid, signal.SIGKILL)
    # SIGKILL is delivered asynchronously: return only once nothing of the sessions runs.
    _wait_gone(procs, leaders, 5.0)


def _wait_gone(procs: list[subprocess.Popen], leaders: list[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        for p in procs:
            p.poll()
        if not session_members(leaders) or time.monotonic() >= deadline:
            return
        time.sleep(0.05)


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU time the processes have used so far."""
    ticks = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields:
            ticks += int(fields[11]) + int(fields[12])  # utime, stime (proc(5) 14, 15)
    return ticks / os.sysconf("SC_CLK_TCK")
