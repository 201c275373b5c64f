"""Timestamps read as Cinder's text (``%Y-%m-%dT%H:%M:%S.%f``), formatted by the database.

A 1,000-volume detail page reads 2,000 timestamps: PyMySQL parsing each into a datetime
and the view formatting it back took a quarter of the page's time. The database writes
the same text for nothing. Each dialect says it its own way; all keep NULL as NULL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, func
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

__all__ = ["iso_text"]


class iso_text(FunctionElement[str]):  # noqa: N801 - reads as a SQL function
    """``iso_text(Volume.created_at)``: the column as ``2026-11-27T23:37:47.311592``."""

    type = String()
    name = "iso_text"
    inherit_cache = True


@compiles(iso_text)
def _sqlite(element: iso_text, compiler: Any, **kw: Any) -> str:
    # SQLAlchemy stores SQLite datetimes as "YYYY-MM-DD HH:MM:SS.ffffff", always 6 digits.
    (column,) = element.clauses
    return compiler.process(func.replace(column, " ", "T"), **kw)


@compiles(iso_text, "mysql")
@compiles(iso_text, "mariadb")
def _mysql(element: iso_text, compiler: Any, **kw: Any) -> str:
    (column,) = element.clauses
    return compiler.process(func.date_format(column, "%Y-%m-%dT%H:%i:%s.%f"), **kw)


@compiles(iso_text, "postgresql")
def _postgresql(element: iso_text, compiler: Any, **kw: Any) -> str:
    (column,) = element.clauses
    return compiler.process(func.to_char(column, 'YYYY-MM-DD"T"HH24:MI:SS.US'), **kw)
