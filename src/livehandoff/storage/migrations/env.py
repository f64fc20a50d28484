"""Alembic's entry point for livehandoff's migrations.

Always run through ``livehandoff.storage.migrate``, which opens the (async) connection and passes it in
``config.attributes["connection"]``; there is no ``alembic.ini`` and no URL to read here.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection

from livehandoff.storage.tables import UtcDateTime, metadata


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write our column types as plain SQLAlchemy ones: a migration must not import today's tables."""
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_item=render_item,
        # SQLite alters tables by copying them; batch mode makes autogenerate draft that for us.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


_connection = context.config.attributes.get("connection")
if not isinstance(_connection, Connection):
    raise RuntimeError("run migrations with `python -m livehandoff.storage`, not the alembic command")
run_migrations(_connection)
