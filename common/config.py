"""Load cinder.conf-format files into typed, validated settings.

An operator's existing ``cinder.conf`` must load unchanged: old option names map
to new ones, trailing `` # notes`` after values are dropped, options cinderblock
does not use are ignored with one warning each, and a bad value stops start-up
with a message naming the file, section and option.
"""

from __future__ import annotations

import argparse
import configparser
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from common.options import BACKEND_GROUP, BACKEND_OPTS, GROUPS, Opt

__all__ = ["Config", "ConfigError", "Section", "load", "parse_args", "DEFAULT_CONFIG_FILE"]

LOG = logging.getLogger(__name__)
DEFAULT_CONFIG_FILE = "/etc/cinderblock/cinderblock.conf"
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
_MASK = "***"


class ConfigError(ValueError):
    """A configuration file cannot be used; the message says where and why."""


@dataclass(frozen=True)
class _Raw:
    value: str
    path: str


class Section:
    """The typed values of one section, read as attributes (``conf.database.connection``)."""

    def __init__(self, name: str, opts: Sequence[Opt], values: dict[str, Any]) -> None:
        self._name = name
        self._opts = {opt.name: opt for opt in opts}
        self._values = values

    def __getattr__(self, item: str) -> Any:
        try:
            return self._values[item]
        except KeyError:
            raise AttributeError(f"[{self._name}] has no option {item!r}") from None

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        return iter(self._values.items())

    @property
    def name(self) -> str:
        return self._name

    def masked(self) -> dict[str, Any]:
        """Values with secrets replaced, safe to log or print."""
        return {
            key: (_MASK if self._opts[key].secret and value is not None else value)
            for key, value in self._values.items()
        }


class Config:
    """All settings of one service, from one or more files (later files win)."""

    def __init__(self, sections: dict[str, Section], backends: dict[str, Section],
                 files: list[str]) -> None:
        self.default = sections["DEFAULT"]
        self.database = sections["database"]
        self.rabbit = sections["oslo_messaging_rabbit"]
        self.keystone = sections["keystone_authtoken"]
        self.concurrency = sections["oslo_concurrency"]
        self.backends = backends
        self.files = files

    def dump(self) -> dict[str, dict[str, Any]]:
        """Every effective value, secrets masked: what an operator may print or log."""
        out = {s.name: s.masked() for s in (self.default, self.database, self.rabbit,
                                            self.keystone, self.concurrency)}
        out.update({name: section.masked() for name, section in self.backends.items()})
        return out


def _parse_value(opt: Opt, raw: _Raw, section: str) -> Any:
    text = raw.value.strip()

    def fail(reason: str) -> ConfigError:
        return ConfigError(f"{raw.path}: [{section}] {opt.name} = {text!r}: {reason}")

    if opt.type is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise fail("expected true or false")
    if opt.type is list:
        return [item.strip() for item in text.split(",") if item.strip()]
    if opt.type in (int, float):
        try:
            value = opt.type(text)
        except ValueError:
            raise fail(f"expected {'an integer' if opt.type is int else 'a number'}") from None
        if opt.min is not None and value < opt.min:
            raise fail(f"must be at least {opt.min:g}")
        if opt.max is not None and value > opt.max:
            raise fail(f"must be at most {opt.max:g}")
        return value
    if opt.choices and text not in opt.choices:
        raise fail(f"must be one of {', '.join(opt.choices)}")
    return text


def _read_files(paths: Sequence[str]) -> dict[str, dict[str, _Raw]]:
    merged: dict[str, dict[str, _Raw]] = {}
    for path in paths:
        parser = configparser.ConfigParser(
            default_section="\0none", interpolation=None, strict=False,
            inline_comment_prefixes=("#", ";"), comment_prefixes=("#", ";"))
        try:
            with open(path, encoding="utf-8") as handle:
                parser.read_file(handle)
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
        except configparser.Error as exc:
            raise ConfigError(f"{path}: not an INI file: {exc}") from None
        for section in parser.sections():
            target = merged.setdefault(section, {})
            for key, value in parser.items(section, raw=True):
                target[key] = _Raw(value, path)
    return merged


def _section(name: str, opts: Sequence[Opt], raw: dict[str, _Raw],
             overrides: dict[str, Any]) -> Section:
    values: dict[str, Any] = {}
    for opt in opts:
        found = raw.get(opt.name)
        if found is None:
            found = next((raw[old] for old in opt.deprecated if old in raw), None)
        if opt.name in overrides:
            values[opt.name] = overrides[opt.name]
        elif found is not None:
            values[opt.name] = _parse_value(opt, found, name)
        else:
            values[opt.name] = opt.default
    return Section(name, opts, values)


def _warn_unused(name: str, opts: Sequence[Opt], raw: dict[str, _Raw]) -> None:
    known = {n for opt in opts for n in (opt.name, *opt.deprecated)}
    for key, found in raw.items():
        if key not in known:
            LOG.warning("%s: [%s] %s is not used by cinderblock; ignored", found.path, name, key)


def load(paths: Sequence[str]) -> Config:
    """Read ``paths`` in order and return validated settings.

    A backend section inherits driver options set in ``[DEFAULT]``, as Cinder's
    drivers do, and its ``volume_backend_name`` defaults to the section name.
    """
    raw = _read_files(paths)
    sections: dict[str, Section] = {}
    for group, opts in GROUPS.items():
        if group == BACKEND_GROUP:
            continue
        group_raw = raw.get(group, {})
        if group == "DEFAULT":
            driver_keys = {n for opt in BACKEND_OPTS for n in (opt.name, *opt.deprecated)}
            _warn_unused(group, opts, {k: v for k, v in group_raw.items()
                                       if k not in driver_keys})
        else:
            _warn_unused(group, opts, group_raw)
        sections[group] = _section(group, opts, group_raw, {})
    backends: dict[str, Section] = {}
    for backend in sections["DEFAULT"].enabled_backends:
        inherited = {**raw.get("DEFAULT", {}), **raw.get(backend, {})}
        _warn_unused(backend, BACKEND_OPTS, raw.get(backend, {}))
        named = {} if "volume_backend_name" in inherited else {"volume_backend_name": backend}
        backends[backend] = _section(backend, BACKEND_OPTS, inherited, named)
    for name in raw:
        if name not in GROUPS and name not in backends:
            LOG.warning("section [%s] is not used by cinderblock; ignored", name)
    return Config(sections, backends, list(paths))


def parse_args(prog: str, argv: Sequence[str] | None = None,
               parser: argparse.ArgumentParser | None = None
               ) -> tuple[Config, argparse.Namespace]:
    """The ``--config-file`` handling every cinderblock binary shares."""
    parser = parser or argparse.ArgumentParser(prog=prog)
    parser.add_argument("--config-file", action="append", dest="config_files",
                        metavar="PATH", help=f"repeatable; default {DEFAULT_CONFIG_FILE}")
    args = parser.parse_args(argv)
    files = args.config_files or [DEFAULT_CONFIG_FILE]
    return load(files), args
