"""Reads a subunit v2 stream on stdin and prints one JSON object per test.

Runs with the Tempest venv's Python (python-subunit and testtools live there, not in
cinderblock's venv); ``run.py`` turns its lines into the report. Each line has the
test id, its status (success, fail, skip, ...) and, for skips and failures, the
reason or traceback.
"""

import json
import sys

import subunit
import testtools


def emit(test: dict) -> None:
    details = test.get("details") or {}
    text = "".join(details[name].as_text() for name in ("reason", "traceback")
                   if name in details)
    print(json.dumps({"id": test["id"], "status": test["status"], "detail": text}))


def main() -> None:
    stream = subunit.ByteStreamToStreamResult(sys.stdin.buffer, non_subunit_name="stdout")
    result = testtools.StreamToDict(emit)
    result.startTestRun()
    try:
        stream.run(result)
    finally:
        result.stopTestRun()


if __name__ == "__main__":
    main()
