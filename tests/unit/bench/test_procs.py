import subprocess
import time

from bench import procs


def _wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_session_members_include_forked_children_and_terminate_ends_them(tmp_path):
    leader = procs.launch(["sh", "-c", "sleep 60 & sleep 60 & wait"], tmp_path / "log")
    try:
        _wait_for(lambda: len(procs.session_members([leader.pid])) == 3)
        assert procs.rss_kib(procs.session_members([leader.pid])) > 0
    finally:
        procs.terminate([leader], grace=5)
    assert procs.session_members([leader.pid]) == []
    assert leader.returncode is not None


def test_terminate_kills_what_ignores_sigterm(tmp_path):
    leader = procs.launch(["sh", "-c", "trap '' TERM; sleep 60 & wait"], tmp_path / "log")
    _wait_for(lambda: len(procs.session_members([leader.pid])) == 2)
    procs.terminate([leader], grace=0.3)
    assert procs.session_members([leader.pid]) == []


def test_a_gone_process_counts_zero():
    gone = subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True)
    pid = int(gone.stdout)
    assert procs.rss_kib([pid]) == 0
    assert procs.cpu_seconds([pid]) == 0.0
