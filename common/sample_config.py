"""Write ``etc/cinderblock/cinderblock.conf.sample`` from the option table.

The sample is generated, never edited, so it documents exactly what the loader
reads; a test fails when the shipped file falls behind ``common/options.py``.

    python -m common.sample_config            # rewrite the shipped sample
    python -m common.sample_config --check    # exit 1 if it is out of date
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path
from typing import Any

from common.options import BACKEND_GROUP, GROUPS, Opt

__all__ = ["render", "SAMPLE_PATH", "main"]

SAMPLE_PATH = Path(__file__).resolve().parent.parent / "etc" / "cinderblock" / \
    "cinderblock.conf.sample"
EXAMPLE_BACKEND = "lvm"
_HEADER = """\
# cinderblock configuration, in cinder.conf format: an existing cinder.conf loads
# unchanged (older option names in "Deprecated names" are still read).
#
# Generated from common/options.py by `python -m common.sample_config`; do not edit.
# Every option is shown commented out with its default.
"""


def _value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def _option(opt: Opt) -> str:
    lines = textwrap.wrap(opt.help, width=78, initial_indent="# ", subsequent_indent="# ")
    lines.append(f"# Type: {opt.type.__name__}")
    if opt.choices:
        lines.append(f"# Allowed values: {', '.join(opt.choices)}")
    if opt.min is not None:
        lines.append(f"# Minimum: {opt.min:g}")
    if opt.max is not None:
        lines.append(f"# Maximum: {opt.max:g}")
    if opt.deprecated:
        lines.append(f"# Deprecated names: {', '.join(opt.deprecated)}")
    if opt.secret:
        lines.append("# Secret: masked in `cinderblock-manage config dump`")
    default = opt.sample_default if opt.sample_default is not None else _value(opt.default)
    lines.append(f"#{opt.name} = {default}".rstrip())
    return "\n".join(lines)


def render() -> str:
    """The whole sample file."""
    parts = [_HEADER]
    for group, opts in GROUPS.items():
        if group == BACKEND_GROUP:
            parts.append(
                f"# One section per name in [DEFAULT] enabled_backends; [{EXAMPLE_BACKEND}] "
                "is the install\n# guide's. Options set in [DEFAULT] apply to every backend.\n"
                f"[{EXAMPLE_BACKEND}]\n")
        else:
            parts.append(f"[{group}]\n")
        parts.extend(_option(opt) + "\n" for opt in opts)
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m common.sample_config")
    parser.add_argument("--check", action="store_true",
                        help="only report whether the shipped sample is current")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = SAMPLE_PATH.read_text(encoding="utf-8") if SAMPLE_PATH.exists() else ""
        if current != text:
            print(f"{SAMPLE_PATH} is out of date: run python -m common.sample_config",
                  file=sys.stderr)
            return 1
        return 0
    SAMPLE_PATH.parent.mkdir(parents=True, exist_ok=True)
    SAMPLE_PATH.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
