"""schemathesis against a real ``cinderblock-api`` (uvicorn on 127.0.0.1, noauth) with a
scheduler and a recorded fake agent behind it: thousands of generated requests, valid
and invalid, and not one 5xx or error body that is not Cinder's."""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from api import microversions
from api.app import create_app
from common.config import load
from common.messaging import Transport
from tests.faults.cluster import PROJECT, Api, running
from tests.fuzz.openapi import describe
from tests.messaging.cluster import Deployment

SCHEMATHESIS = str(pathlib.Path(sys.executable).parent / "schemathesis")
# Per operation and phase; ~90 operations make this a few thousand requests in ~2 min.
MAX_EXAMPLES = int(os.environ.get("CINDERBLOCK_FUZZ_EXAMPLES", "25"))
ACCESS_LINE = re.compile(r"cinderblock\.api\.access .* (\d)\d\d [\d.]+ms$", re.MULTILINE)


@pytest.fixture
def deployment(tmp_path: pathlib.Path, broker_url: str, one_db_url: str,
               session_factory: sessionmaker[Session],
               transport: Transport) -> Iterator[Deployment]:
    with running(tmp_path, broker_url, one_db_url, session_factory, transport,
                 rpc_response_timeout=5) as made:
        yield made


def test_the_description_serves_the_real_paths(tmp_path: pathlib.Path) -> None:
    conf = tmp_path / "c.conf"
    conf.write_text("[DEFAULT]\nauth_strategy = noauth\n"
                    "[database]\nconnection = sqlite:///" + str(tmp_path / "db.sqlite") + "\n")
    spec = describe(create_app(load([str(conf)])), PROJECT)
    paths = set(spec["paths"])
    for wanted in ("volumes", "volumes/detail", "volumes/{volume_id}/action", "types",
                   "snapshots", "attachments", "os-quota-sets/{target}", "limits"):
        assert f"/v3/{PROJECT}/{wanted}" in paths
    volume = spec["paths"][f"/v3/{PROJECT}/volumes"]
    assert "requestBody" in volume["post"]
    assert {p["name"] for p in volume["get"]["parameters"]} >= {"limit", "marker", "sort"}


def test_generated_requests_never_get_a_server_error(
        deployment: Deployment, tmp_path: pathlib.Path, summary: list[str]) -> None:
    started = time.monotonic()
    deployment.start_all()
    api = Api(deployment).start()
    volume_ids = [api.create(1) for _ in range(5)]
    spec_path = tmp_path / "openapi.json"
    spec_path.write_text(json.dumps(describe(
        create_app(load([deployment.conf_path])), PROJECT,
        examples={"volume_id": volume_ids})))
    port = deployment.default["osapi_volume_listen_port"]
    run = subprocess.run(
        [SCHEMATHESIS, "run", str(spec_path), "--url", f"http://127.0.0.1:{port}",
         "--checks", "not_a_server_error,response_schema_conformance",
         "--phases", "examples,coverage,fuzzing", "--max-examples", str(MAX_EXAMPLES),
         # One worker: with two threads parsing at once (Hypothesis's ast.parse of its
         # lambdas), CPython 3.11.7 raised "SystemError: AST constructor recursion depth
         # mismatch" and schemathesis ended with a runtime error, not a finding.
         "--workers", "1", "--seed", "1", "--no-shrink", "--request-timeout", "30",
         "--suppress-health-check", "all",
         "-H", f"X-Auth-Token: admin:{PROJECT}",
         "-H", f"OpenStack-API-Version: volume {microversions.MAX}",
         "--report", "junit", "--report-dir", str(tmp_path / "report")],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    api.close()
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-20000:] + deployment.logs()[-5000:]
    generated = sum(int(n) for n in re.findall(r"(\d+) generated", output))
    assert generated >= 2000, output[-3000:]
    answers = Counter(code[0] + "xx" for code in ACCESS_LINE.findall(
        (tmp_path / "cinderblock-api.log").read_text()))
    # Not a run where everything bounced off one 400: real work was done too.
    assert answers["5xx"] == 0 and answers["2xx"] >= generated // 10, answers
    summary.append(f"schemathesis: {generated} generated requests on "
                   f"{len(json.loads(spec_path.read_text())['paths'])} paths, answered "
                   f"{dict(sorted(answers.items()))}, every 4xx a Cinder error body "
                   f"({time.monotonic() - started:.0f}s)")
