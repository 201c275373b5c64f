"""What every cinderblock daemon shares: logging set-up, periodic tasks, stopping cleanly."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

import common.logging

__all__ = ["setup_logging", "run_every", "wait_for_signal"]

LOG = logging.getLogger(__name__)


def setup_logging(default: Any) -> None:
    """Log as configured in ``[DEFAULT]``, every line with the request id it serves."""
    common.logging.configure(default)


def run_every(interval: float, task: Callable[[], None], stop: threading.Event,
              name: str) -> threading.Thread:
    """Run ``task`` now and then every ``interval`` seconds until ``stop`` is set; a
    failing run is logged and the next one still happens."""
    def loop() -> None:
        while not stop.is_set():
            try:
                task()
            except Exception:
                LOG.exception("periodic task %s failed", name)
            stop.wait(interval)

    thread = threading.Thread(target=loop, name=name, daemon=True)
    thread.start()
    return thread


def wait_for_signal(stop: threading.Event) -> None:
    """Block until SIGTERM or SIGINT, then set ``stop``."""
    def handler(signum: int, frame: Any) -> None:
        LOG.info("signal %d received; stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    while not stop.wait(1):
        pass
