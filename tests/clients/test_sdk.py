"""openstacksdk's block_storage proxy against cinderblock, found through the catalog."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

SCRIPT = Path(__file__).with_name("sdk_walk.py")


def test_create_list_extend_delete(shell):
    name = f"sdk-{uuid.uuid4().hex[:8]}"
    seen = json.loads(shell.run("demo", "python", str(SCRIPT), name))
    assert seen["name"] == name
    assert seen["id"] in seen["listed"]
    assert seen["extended_size"] == 2
    assert seen["id"] not in seen["after_delete"]
