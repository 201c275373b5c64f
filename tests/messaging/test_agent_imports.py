"""The agent runs on storage hosts with only stdlib, kombu and rtslib-fb: importing it
must not pull in the controller's stack (the database layer, pydantic, FastAPI)."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
import volume_agent.cmd
heavy = sorted({m.split('.')[0] for m in sys.modules}
               & {'sqlalchemy', 'pydantic', 'fastapi', 'db', 'api', 'scheduler'})
print(','.join(heavy))
"""


def test_agent_imports_stay_light() -> None:
    result = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True,
                            check=True, timeout=60)
    assert result.stdout.strip() == ""
