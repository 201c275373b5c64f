"""``cinderblock-api --config-file ...``: the API under uvicorn.

Listens on ``osapi_volume_listen:osapi_volume_listen_port`` with
``osapi_volume_workers`` processes. Workers are separate processes (uvicorn
spawns them), so each builds its own app from the same config files, passed
down in the environment.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import uvicorn
from fastapi import FastAPI

from api.app import create_app
from common.config import load, parse_args
from common.service import setup_logging

__all__ = ["main", "app_from_environment", "BINARY"]

BINARY = "cinderblock-api"
_CONFIG_ENV = "CINDERBLOCK_API_CONFIG_FILES"


def app_from_environment() -> FastAPI:
    """The app of one worker process, from the files ``main`` was given."""
    conf = load(os.environ[_CONFIG_ENV].split(os.pathsep))
    setup_logging(conf.default)
    return create_app(conf)


def main(argv: Sequence[str] | None = None) -> None:
    conf, _ = parse_args(BINARY, argv)
    setup_logging(conf.default)
    os.environ[_CONFIG_ENV] = os.pathsep.join(os.path.abspath(f) for f in conf.files)
    uvicorn.run("api.cmd:app_from_environment", factory=True,
                host=conf.default.osapi_volume_listen,
                port=conf.default.osapi_volume_listen_port,
                workers=conf.default.osapi_volume_workers,
                log_config=None, access_log=conf.default.debug, server_header=False)


if __name__ == "__main__":
    main()
