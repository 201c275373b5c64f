"""The shipped sample config documents exactly the options the loader reads."""

from __future__ import annotations

import re
from pathlib import Path

from common.config import load
from common.options import BACKEND_OPTS, GROUPS
from common.sample_config import EXAMPLE_BACKEND, SAMPLE_PATH, render


def test_shipped_sample_matches_the_option_table() -> None:
    assert SAMPLE_PATH.read_text(encoding="utf-8") == render(), (
        "etc/cinderblock/cinderblock.conf.sample is stale: run python -m common.sample_config")


def test_sample_names_every_option_in_its_section() -> None:
    sections = re.split(r"^\[([^\]]+)\]$", render(), flags=re.MULTILINE)
    bodies = dict(zip(sections[1::2], sections[2::2], strict=True))
    for group, opts in GROUPS.items():
        body = bodies[EXAMPLE_BACKEND if opts is BACKEND_OPTS else group]
        for opt in opts:
            assert re.search(rf"^#{opt.name} =", body, flags=re.MULTILINE), (group, opt.name)


def test_uncommented_sample_loads_with_the_defaults(tmp_path: Path) -> None:
    # Every default the sample shows must be a value the loader accepts.
    lines = [line[1:] if line.startswith("#") and "=" in line and not line.startswith("# ")
             else line for line in render().splitlines()]
    text = "\n".join(line.replace("<hostname>", "node1") for line in lines)
    path = tmp_path / "sample.conf"
    path.write_text(text.replace("#enabled_backends =", "enabled_backends = lvm")
                    .replace("\nenabled_backends =\n", "\nenabled_backends = lvm\n"))
    conf = load([str(path)])
    assert conf.default.host == "node1"
    assert conf.backends[EXAMPLE_BACKEND].volume_group == "cinder-volumes"
