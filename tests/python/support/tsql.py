"""Helpers for testing T-SQL without SQL Server: cut the set-based statements out of the
rendered procedures, bind parameters, transpile T-SQL -> DuckDB with sqlglot."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp

ROOT = Path(__file__).resolve().parents[3]
PROCEDURES = ROOT / "stored_procedures"
STATEMENT = re.compile(r"-- gp:statement (\w+)\n(.*?)\n\s*-- gp:end", re.S)
ASSIGNMENT = re.compile(r"^(\s*)@(\w+) = (.+?)(,?)$", re.M)
_STRING_TYPES = {
    exp.DataType.Type.TEXT,
    exp.DataType.Type.VARCHAR,
    exp.DataType.Type.NVARCHAR,
    exp.DataType.Type.CHAR,
    exp.DataType.Type.NCHAR,
}


def procedure_files() -> list[Path]:
    return sorted(PROCEDURES.glob("[1-9]*.sql"))


def statements(name: str) -> dict[str, str]:
    """The marked set-based statements of one procedure file, by name."""
    return dict(STATEMENT.findall((PROCEDURES / name).read_text()))


def literal(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def bind(sql: str, params: dict[str, Any]) -> str:
    """T-SQL variable assignments in a select list become columns (`@x = expr` ->
    `expr as x`); @parameters become literals (longest names first)."""
    sql = ASSIGNMENT.sub(lambda m: f"{m.group(1)}{m.group(3)} as {m.group(2)}{m.group(4)}", sql)
    for name in sorted(params, key=len, reverse=True):
        sql = re.sub(rf"@{name}\b", literal(params[name]), sql)
    left = re.findall(r"@\w+", sql)
    assert not left, f"unbound T-SQL variables: {sorted(set(left))}"
    return sql


def to_duckdb(tsql: str) -> str:
    """Transpile one T-SQL statement to DuckDB. String lengths are dropped (DuckDB ignores
    them and rejects `max`); SYSUTCDATETIME() becomes the current UTC timestamp."""
    tree = sqlglot.parse_one(tsql, read="tsql")
    for dtype in tree.find_all(exp.DataType):
        if dtype.this in _STRING_TYPES:
            dtype.set("expressions", [])
    for fn in list(tree.find_all(exp.Anonymous)):
        if fn.name.lower() == "sysutcdatetime":
            fn.replace(exp.cast(exp.CurrentTimestamp(), "timestamp"))
    return tree.sql(dialect="duckdb")
