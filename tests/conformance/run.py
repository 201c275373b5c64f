"""Tempest's volume API tests and cinder-tempest-plugin's against cinderblock.

``make conformance`` (or ``python -m tests.conformance.run``): starts the test Keystone
and cinderblock on the fake backend (``tests.clients.stack``), writes tempest.conf,
runs ``tempest.api.volume`` and ``cinder_tempest_plugin.api``, and prints the counts,
every failure, and the skips grouped by their reason. Exits non-zero when a test
failed that ``known_failures.txt`` does not list with its cause. Tempest and the
plugin live in a venv of their own (``venvs.pinned_venv``), with cinderblock's
workarounds for glance and neutron being absent (``missing_services/``) installed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
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
from tests.keystone.cached import CACHE

__all__ = ["Outcome", "run", "summarize", "read_known", "new_failures", "fixed", "KNOWN"]

HERE = Path(__file__).parent
REQUIREMENTS = HERE / "requirements.txt"
KNOWN = HERE / "known_failures.txt"
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
    # Our own plugin (missing_services/) is reinstalled each run: seconds, never stale.
    # Built from a copy: pip leaves build files beside the sources it builds.
    plugin = shutil.copytree(HERE / "missing_services", workdir / "missing_services")
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps",
                    "--cache-dir", str(CACHE / "pip"), str(plugin)],
                   check=True, capture_output=True)
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


def _name(test_id: str) -> str:
    """A test id without Tempest's ``[id-...,tags]`` suffix."""
    return test_id.split("[", 1)[0]


def read_known(path: Path) -> dict[str, str]:
    """``known_failures.txt``: one test name a line, ``# cause`` after it; blank lines
    and lines starting with ``#`` are comments."""
    known = {}
    for line in path.read_text().splitlines():
        name, _, cause = line.partition("#")
        if name.strip():
            known[name.strip()] = cause.strip()
    return known


def new_failures(outcomes: list[Outcome], known: dict[str, str]) -> list[str]:
    return sorted(_name(o.test_id) for o in outcomes
                  if o.status == "fail" and _name(o.test_id) not in known)


def fixed(outcomes: list[Outcome], known: dict[str, str]) -> list[str]:
    """Known failures that passed this time: the list should lose them."""
    return sorted({_name(o.test_id) for o in outcomes if o.status == "success"} & set(known))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regex", default=SUITES, help="which tests (default: %(default)s)")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--workdir", type=Path, help="default: a new temporary directory")
    parser.add_argument("--known-failures", type=Path, default=KNOWN,
                        help="failures that do not fail the run (default: %(default)s)")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="cinderblock-conformance-"))
    workdir.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    outcomes, took = run(workdir, args.regex, args.concurrency)
    print(f"\n=== Tempest against cinderblock: {took:.0f} s, logs in {workdir}")
    print(summarize(outcomes))
    known = read_known(args.known_failures)
    unexpected = new_failures(outcomes, known)
    print(f"\nKnown failures ({args.known_failures.name}): {len(known)}; "
          f"now passing: {fixed(outcomes, known) or 'none'}")
    print(f"New failures: {unexpected or 'none'}")
    return 1 if not outcomes or unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
