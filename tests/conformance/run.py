"""Tempest's volume API tests and cinder-tempest-plugin's against cinderblock.

``make conformance`` (or ``python -m tests.conformance.run``): starts the test Keystone
and cinderblock on the fake backend (``tests.clients.stack``), writes tempest.conf,
runs ``tempest.api.volume`` and ``cinder_tempest_plugin.api``, and prints the counts,
every failure, and the skips grouped by their reason. Exits non-zero when a test
failed. Tempest and the plugin live in a venv of their own (``venvs.pinned_venv``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from tests.clients.stack import running
from tests.clients.venvs import pinned_venv
from tests.conformance.tempest_conf import write_tempest_conf

__all__ = ["Outcome", "run", "summarize"]

HERE = Path(__file__).parent
REQUIREMENTS = HERE / "requirements.txt"
SUITES = r"^(tempest\.api\.volume|cinder_tempest_plugin\.api)\."
# "tempest.lib.exceptions.NotFound: ...", "AssertionError: ...", "KeyError: 'x'"
_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Failure|Mismatch\w*|[A-Z]\w+): ")


@dataclass(frozen=True)
class Outcome:
    test_id: str
    status: str
    detail: str


def _tempest(venv: Path, workspace: Path, *args: str, **kw: object) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}"}
    return subprocess.run([str(venv / "bin" / args[0]), *args[1:]], cwd=workspace, env=env,
                          **kw)


def run(workdir: Path, regex: str, concurrency: int) -> tuple[list[Outcome], float]:
    """Every test's outcome and the seconds ``tempest run`` took."""
    venv = pinned_venv("tempest", REQUIREMENTS)
    workspace = workdir / "tempest"
    with running(workdir / "stack") as stack:
        _tempest(venv, workdir, "tempest", "init", "--workspace-path",
                 str(workdir / "workspaces.yaml"), str(workspace), check=True,
                 capture_output=True)
        write_tempest_conf(stack, workspace)
        started = time.monotonic()
        _tempest(venv, workspace, "tempest", "run", "--regex", regex,
                 "--concurrency", str(concurrency))
        took = time.monotonic() - started
    stream = _tempest(venv, workspace, "stestr", "last", "--subunit", capture_output=True)
    parsed = subprocess.run([str(venv / "bin" / "python"), str(HERE / "subunit_results.py")],
                            input=stream.stdout, capture_output=True, check=True)
    outcomes = [Outcome(line["id"], line["status"], line["detail"])
                for line in map(json.loads, parsed.stdout.decode().splitlines())]
    return outcomes, took


def _reason(traceback: str) -> str:
    """The exception line of a traceback, with Tempest's ``Details:`` line if it has one."""
    lines = traceback.strip().splitlines()
    raised = [line for line in lines if _EXCEPTION.match(line)]
    details = [line for line in lines if line.startswith("Details: ")]
    return " / ".join((raised or lines or [""])[-1:] + details[-1:])[:400]


def summarize(outcomes: list[Outcome]) -> str:
    """Counts, then each failure with the last line of its traceback, then skip reasons."""
    counts = Counter(o.status for o in outcomes)
    lines = [f"passed {counts['success']}  failed {counts['fail']}  "
             f"skipped {counts['skip']}  (of {len(outcomes)})"]
    failures = sorted((o for o in outcomes if o.status == "fail"), key=lambda o: o.test_id)
    if failures:
        lines.append("\nFailures:")
        lines += [f"  {o.test_id}\n      {_reason(o.detail)}" for o in failures]
    reasons: dict[str, int] = defaultdict(int)
    for outcome in outcomes:
        if outcome.status == "skip":
            reasons[outcome.detail.strip() or "(no reason given)"] += 1
    if reasons:
        lines.append("\nSkips by reason:")
        lines += [f"  {count:4d}  {reason}" for reason, count in
                  sorted(reasons.items(), key=lambda item: -item[1])]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regex", default=SUITES, help="which tests (default: %(default)s)")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--workdir", type=Path, help="default: a new temporary directory")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="cinderblock-conformance-"))
    workdir.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    outcomes, took = run(workdir, args.regex, args.concurrency)
    print(f"\n=== Tempest against cinderblock: {took:.0f} s, logs in {workdir}")
    print(summarize(outcomes))
    return 1 if not outcomes or any(o.status == "fail" for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
