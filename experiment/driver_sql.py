"""Core statements compiled once per dialect and run on the database driver's cursor.

The statements every trial runs go here: the answer's write (``services/answers.py``),
the caller's read where the answer needs it (``services/callers.py``) and the optional
start's UPDATE (``services/trials.py``).
Through ``Connection.execute`` each cost 50-70 µs of CPU more than the driver's own
work (SQLAlchemy's cache lookup, execution context and result objects); run here, the
start and the answer took about 0.4 ms less CPU per trial in the in-process harness,
for statements that never change. The statements every participant's pages run
(the study's state, the participant lookups, the enrolment's counters, the open trials,
the plan: ``services/participants.py``, ``services/plans.py``) run here too. They are
still written in SQLAlchemy Core, next to the code that reads them;
:class:`DriverStatement` compiles each once for the connection's dialect and keeps what
``execute`` would have done:

- the parameters go through the columns' bind processors (an enum's stored name, a JSON
  column's document, the UTC timestamps) and rows through their result processors;
- the statement runs inside the connection's transaction (begun first, so that the
  connection's ``commit`` and ``rollback`` apply to it as to its other statements; on
  SQLite that is the ``BEGIN IMMEDIATE`` of ``db.py``);
- a driver error goes through SQLAlchemy's handler: it is raised as SQLAlchemy's
  exception (an ``IntegrityError`` stays one) and a lost connection is invalidated with
  the rest of the pool as old, so a database restart costs one failed request (a 503
  the runner retries), not one per pooled connection;
- the connection's ``before_cursor_execute`` and ``after_cursor_execute`` listeners
  see the statement (the tests' statement recorder among them).

SQLAlchemy's own statement logging (``echo``) does not see them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ClauseElement

Processor = Callable[[Any], Any]
#: dialects that run an INSERT or UPDATE inside a WITH of another statement: there each
#: runner API write is one statement, and the runner API's connection autocommits
#: (``db.Database``, ``services/answers.py``)
WRITES_IN_ONE_STATEMENT = frozenset({"postgresql"})


class Compiled:
    """One statement as one dialect's driver runs it."""

    def __init__(self, statement: ClauseElement, dialect: sa.Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        self.compiled = compiled
        self.names: Sequence[str] | None = compiled.positiontup if compiled.positional else None
        self.binds: dict[str, Processor] = {}
        for bind in compiled.binds.values():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self.binds[compiled.bind_names[bind]] = processor
        columns = getattr(statement, "exported_columns", ())
        self.results: list[Processor | None] = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        ]
        self.returns_rows = bool(self.results)

    def parameters(self, values: dict[str, Any]) -> dict[str, Any] | tuple[Any, ...]:
        """``values`` (and the statement's own literals) as the driver takes them."""
        params = self.compiled.construct_params(values)
        for name, processor in self.binds.items():
            params[name] = processor(params[name])
        if self.names is None:
            return params
        return tuple(params[name] for name in self.names)

    def row(self, raw: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(
            value if processor is None else processor(value)
            for value, processor in zip(raw, self.results, strict=True)
        )


class DriverStatement:
    """A Core statement to run on the driver's cursor (see the module docstring)."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._by_dialect: dict[str, Compiled] = {}

    def compiled(self, dialect: sa.Dialect) -> Compiled:
        found = self._by_dialect.get(dialect.name)
        if found is None:
            found = self._by_dialect[dialect.name] = Compiled(self.statement, dialect)
        return found

    def execute(self, connection: sa.Connection, values: dict[str, Any]) -> list[tuple[Any, ...]]:
        """Run the statement with ``values``; its rows (empty for one without any)."""
        dialect = connection.dialect
        compiled = self.compiled(dialect)
        params = compiled.parameters(values)
        if not connection.in_transaction():
            connection.begin()
        cursor = None
        try:
            cursor = connection.connection.cursor()
            connection.dispatch.before_cursor_execute(
                connection, cursor, compiled.sql, params, None, False
            )
            cursor.execute(compiled.sql, params)
            connection.dispatch.after_cursor_execute(
                connection, cursor, compiled.sql, params, None, False
            )
            rows = cursor.fetchall() if compiled.returns_rows else []
            cursor.close()
        except dialect.loaded_dbapi.Error as error:
            # SQLAlchemy's own handler (the one private name used here): it wraps the
            # error, closes the cursor, runs ``handle_error`` listeners and, for a lost
            # connection, invalidates it and every pooled connection as old.
            connection._handle_dbapi_exception(error, compiled.sql, params, cursor, None)
        return [compiled.row(row) for row in rows]
