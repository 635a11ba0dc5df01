"""Column defaults on MySQL and MariaDB: how they are written, what they refuse, how they print them back.

Found by trying on MariaDB 10.11 (strict mode) and from MySQL 8.0's manual ("Data Type
Default Values"):

- Expression defaults must be in parentheses; the one exception is CURRENT_TIMESTAMP on a
  DATETIME or TIMESTAMP column. MySQL 8 takes a default on a TEXT, BLOB or JSON column only
  as an expression, even a literal one (`DEFAULT ('x')`); MariaDB takes both forms.
- Functions sqlglot does not know are written as the model spells them, and MariaDB
  refuses every function it lacks ("Function or expression 'clock_timestamp()' cannot be
  used in the DEFAULT clause"), as well as some of its own: LAST_INSERT_ID, FOUND_ROWS,
  ROW_COUNT, GET_LOCK, RELEASE_LOCK, IS_FREE_LOCK, SLEEP, BENCHMARK, LOAD_FILE,
  MASTER_POS_WAIT, aggregates and window functions, subqueries, and any reference to an
  AUTO_INCREMENT column. MySQL 8 refuses variables (`@x`), which MariaDB takes.
- MariaDB prints a DECIMAL default with the column's scale (0 -> 0.00) and a TIME or
  DATETIME default with the column's fractional digits ('10:00:00' -> '10:00:00.000000').
"""

from __future__ import annotations

from decimal import Decimal

from sqlglot import exp

from reviewkit.schema.expressions import parse_canonical
from reviewkit.schema.state import Column, Table
from reviewkit.schema.types import parse_type

# Kinds whose defaults MySQL 8 takes only in parentheses (MariaDB takes that form too).
EXPRESSION_ONLY_KINDS = {"text", "json", "jsonb", "blob"}

# Built-ins of MySQL and MariaDB that sqlglot does not know by name, each tried in a
# DEFAULT on MariaDB 10.11; any other function sqlglot does not know is refused.
_KNOWN_BUILT_INS = {"CONNECTION_ID", "USER", "SYSDATE", "UNIX_TIMESTAMP"}

_LITERALS = (exp.Literal, exp.Boolean, exp.Null, exp.Neg)


def default_sql(node: exp.Expression, rendered: str, column_kind: str, stored_type: str) -> str:
    """Return the DEFAULT clause's value: literals bare, expressions (and TEXT/BLOB/JSON defaults) in parentheses."""
    if isinstance(node, exp.CurrentTimestamp):
        return _with_precision("CURRENT_TIMESTAMP", stored_type)  # the one expression allowed bare
    if isinstance(node, exp.CurrentTime):
        return f"({_with_precision('CURRENT_TIME', stored_type)})"  # CURRENT_TIME alone drops the microseconds
    if isinstance(node, _LITERALS) and column_kind not in EXPRESSION_ONLY_KINDS:
        return rendered
    return f"({rendered})"


def _with_precision(function: str, stored_type: str) -> str:
    precision = parse_type(stored_type).params
    return f"{function}({precision[0]})" if precision and precision[0] else function


def refusal(table: Table, column: Column) -> str | None:
    """Return why MySQL or MariaDB would refuse the column's default, or None."""
    node = parse_canonical(column.default)  # type: ignore[arg-type]
    for function in node.find_all(exp.Anonymous):
        if function.name.upper() not in _KNOWN_BUILT_INS:
            return f"only its own built-in functions are allowed in a DEFAULT, and not {function.name.upper()}()"
    if node.find(exp.Parameter, exp.SessionParameter, exp.Placeholder) is not None:
        return "variables are not allowed in a DEFAULT (MySQL 8)"
    auto_increment = {c.name for c in table.columns if c.identity}
    for ref in node.find_all(exp.Column):
        if ref.name in auto_increment:
            return f"it refers to the AUTO_INCREMENT column {ref.name}"
    return None


def stored_default(default: str | None, stored_type: str) -> str | None:
    """Return a default as MariaDB prints it back: DECIMAL with the column's scale, TIME and DATETIME with its digits."""
    if default is None:
        return None
    portable, node = parse_type(stored_type), parse_canonical(default)
    if portable.kind == "numeric" and len(portable.params) == 2 and _is_number(node):
        value = Decimal(node.sql(dialect=""))  # 0 -> 0.00, -1.5 -> -1.50
        return format(value.quantize(Decimal(1).scaleb(-portable.params[1])), "f")
    if portable.kind in ("time", "timestamp") and isinstance(node, exp.Literal) and node.is_string:
        digits = portable.params[0] if portable.params else 0
        whole, _, fraction = node.this.partition(".")
        return exp.Literal.string(whole + ("." + fraction.ljust(digits, "0") if digits else "")).sql(dialect="")
    return default


def _is_number(node: exp.Expression) -> bool:
    inner = node.this if isinstance(node, exp.Neg) else node
    return isinstance(inner, exp.Literal) and not inner.is_string
