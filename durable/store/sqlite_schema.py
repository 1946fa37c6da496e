"""The SQLite schema as an ordered list of migrations, applied on open and recorded in a table.

``MIGRATIONS[i]`` brings a database from version ``i`` to ``i + 1``; ``schema_migrations``
holds one row per applied version. Never edit a released migration: append a new one.

Executions have an integer surrogate key (``executions.id``); events and journal entries
reference it, so their indexes hold small integers rather than ARNs. Execution definitions are
stored once per distinct text (``definitions``), since every execution of a state machine
version carries the same definition and the execution row is rewritten at every step.
"""

from __future__ import annotations

import sqlite3
import time

import aiosqlite

from .base import StoreError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "migrate"]

_PARKING = "SELECT 1 FROM timers t WHERE t.execution_arn = {arn} AND t.parks = 1"

# ``executions.parked`` is 1 exactly when the execution has a parking timer (``timers.parks``).
# Triggers keep it so, whatever writes the timers (and in whatever order a batch applies its
# executions and timers); ``executions_resumable`` then lists the RUNNING executions an owner
# resumes at open without visiting the parked ones.
_PARKED_FLAG: tuple[str, ...] = (
    "ALTER TABLE executions ADD COLUMN parked INTEGER NOT NULL DEFAULT 0",
    f"UPDATE executions SET parked = 1 WHERE EXISTS ({_PARKING.format(arn='executions.arn')})",
    """CREATE INDEX executions_resumable ON executions (start_date, arn)
        WHERE status = 'RUNNING' AND parked = 0""",
    """CREATE TRIGGER timers_park_insert AFTER INSERT ON timers WHEN NEW.parks = 1
        BEGIN UPDATE executions SET parked = 1 WHERE arn = NEW.execution_arn AND parked = 0; END""",
    f"""CREATE TRIGGER timers_park_update AFTER UPDATE OF parks, execution_arn ON timers
        WHEN NEW.parks <> OLD.parks OR NEW.execution_arn <> OLD.execution_arn
        BEGIN
            UPDATE executions SET parked = EXISTS ({_PARKING.format(arn="executions.arn")})
                WHERE arn IN (NEW.execution_arn, OLD.execution_arn);
        END""",
    f"""CREATE TRIGGER timers_park_delete AFTER DELETE ON timers WHEN OLD.parks = 1
        BEGIN
            UPDATE executions SET parked = EXISTS ({_PARKING.format(arn="OLD.execution_arn")})
                WHERE arn = OLD.execution_arn;
        END""",
    f"""CREATE TRIGGER executions_park_insert AFTER INSERT ON executions
        WHEN EXISTS ({_PARKING.format(arn="NEW.arn")})
        BEGIN UPDATE executions SET parked = 1 WHERE id = NEW.id; END""",
)

MIGRATIONS: list[tuple[str, ...]] = [
    # 1: the initial schema
    (
        """CREATE TABLE state_machines (
            arn TEXT PRIMARY KEY NOT NULL,
            name TEXT NOT NULL,
            type TEXT NOT NULL,
            definition TEXT NOT NULL,
            role_arn TEXT NOT NULL,
            creation_date REAL NOT NULL,
            status TEXT NOT NULL,
            description TEXT NOT NULL,
            revision INTEGER NOT NULL
        )""",
        """CREATE TABLE definitions (
            id INTEGER PRIMARY KEY,
            sha256 TEXT NOT NULL UNIQUE,
            body TEXT NOT NULL
        )""",
        """CREATE TABLE executions (
            id INTEGER PRIMARY KEY,
            arn TEXT NOT NULL UNIQUE,
            state_machine_arn TEXT NOT NULL,
            name TEXT NOT NULL,
            status TEXT NOT NULL,
            start_date REAL NOT NULL,
            input TEXT NOT NULL,
            definition_id INTEGER NOT NULL REFERENCES definitions (id),
            type TEXT NOT NULL,
            stop_date REAL,
            output TEXT,
            error TEXT,
            cause TEXT,
            redrive_count INTEGER NOT NULL,
            redrive_date REAL,
            event_count INTEGER NOT NULL
        )""",
        "CREATE INDEX executions_by_start ON executions (start_date, arn)",
        "CREATE INDEX executions_by_machine ON executions (state_machine_arn, start_date, arn)",
        "CREATE INDEX executions_by_status ON executions (status, start_date, arn)",
        # events and journal rows can be large (payloads), so they keep a rowid and a separate
        # unique index rather than being WITHOUT ROWID tables.
        """CREATE TABLE events (
            execution_id INTEGER NOT NULL REFERENCES executions (id),
            id INTEGER NOT NULL,
            type TEXT NOT NULL,
            previous_event_id INTEGER NOT NULL,
            timestamp REAL NOT NULL,
            details TEXT
        )""",
        "CREATE UNIQUE INDEX events_by_execution ON events (execution_id, id)",
        """CREATE TABLE journal (
            execution_id INTEGER NOT NULL REFERENCES executions (id),
            lane TEXT NOT NULL,
            seq INTEGER NOT NULL,
            kind TEXT NOT NULL,
            payload TEXT NOT NULL
        )""",
        "CREATE UNIQUE INDEX journal_by_execution ON journal (execution_id, lane, seq)",
        """CREATE TABLE timers (
            execution_arn TEXT NOT NULL,
            key TEXT NOT NULL,
            due REAL NOT NULL,
            PRIMARY KEY (execution_arn, key)
        ) WITHOUT ROWID""",
        "CREATE INDEX timers_by_due ON timers (due, execution_arn, key)",
        """CREATE TABLE tokens (
            token TEXT PRIMARY KEY NOT NULL,
            execution_arn TEXT NOT NULL,
            lane TEXT NOT NULL,
            seq INTEGER NOT NULL,
            state_name TEXT NOT NULL,
            created REAL NOT NULL,
            heartbeat_seconds REAL,
            timeout_seconds REAL,
            last_heartbeat REAL,
            activity_arn TEXT,
            closed INTEGER NOT NULL
        )""",
        "CREATE INDEX tokens_open ON tokens (created, token) WHERE closed = 0",
        "CREATE INDEX tokens_open_by_execution ON tokens (execution_arn, created, token) WHERE closed = 0",
        """CREATE TABLE activities (
            arn TEXT PRIMARY KEY NOT NULL,
            name TEXT NOT NULL,
            creation_date REAL NOT NULL
        )""",
        """CREATE TABLE activity_tasks (
            token TEXT PRIMARY KEY NOT NULL,
            activity_arn TEXT NOT NULL,
            execution_arn TEXT NOT NULL,
            input TEXT NOT NULL,
            scheduled REAL NOT NULL,
            started REAL,
            worker_name TEXT
        )""",
        """CREATE INDEX activity_tasks_pending ON activity_tasks (activity_arn, scheduled, token)
            WHERE started IS NULL""",
    ),
    # 2: the inbox of requests from processes that do not own the executions; parking timers
    (
        """CREATE TABLE requests (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            ref TEXT NOT NULL UNIQUE,
            execution_arn TEXT NOT NULL,
            kind TEXT NOT NULL,
            token TEXT,
            payload TEXT,
            created REAL NOT NULL
        )""",
        "ALTER TABLE timers ADD COLUMN parks INTEGER NOT NULL DEFAULT 0",
        "UPDATE timers SET parks = 1 WHERE key LIKE 'park:%'",
        "CREATE INDEX timers_parking ON timers (execution_arn) WHERE parks = 1",
    ),
    # 3: an execution's ``parked`` flag (it has a parking timer), kept by triggers, so that
    # opening lists the resumable executions through a partial index without reading the parked
    _PARKED_FLAG,
    # 4: retention (closed executions by stop date) and listing by machine and status together
    (
        "CREATE INDEX executions_closed ON executions (stop_date, id) WHERE status <> 'RUNNING'",
        "CREATE INDEX executions_by_machine_status"
        " ON executions (state_machine_arn, status, start_date, arn)",
        "CREATE INDEX activity_tasks_by_execution ON activity_tasks (execution_arn)",
        "CREATE INDEX tokens_by_execution ON tokens (execution_arn)",
    ),
    # 5: an event is also its lane's journal entry (written once, in the events table; the
    # journal reads take both tables)
    (
        "ALTER TABLE events ADD COLUMN lane TEXT",
        "ALTER TABLE events ADD COLUMN seq INTEGER",
    ),
    # 6: catalog entries beside state machines (versions, aliases, tags, configurations, the
    # version or alias an execution was started through)
    (
        """CREATE TABLE metadata (
            kind TEXT NOT NULL,
            arn TEXT NOT NULL,
            parent TEXT NOT NULL,
            body TEXT NOT NULL,
            created REAL NOT NULL,
            PRIMARY KEY (kind, arn)
        ) WITHOUT ROWID""",
        "CREATE INDEX metadata_by_parent ON metadata (kind, parent, created, arn)",
    ),
    # 7: the child executions of Distributed Map runs (listed per Map Run, newest first; a
    # stopped execution's running children are found by its ARN)
    (
        """CREATE TABLE map_children (
            arn TEXT NOT NULL UNIQUE,
            map_run_arn TEXT NOT NULL,
            execution_arn TEXT NOT NULL,
            idx INTEGER NOT NULL,
            name TEXT NOT NULL,
            status TEXT NOT NULL,
            start_date REAL NOT NULL,
            input TEXT NOT NULL,
            item_count INTEGER NOT NULL,
            stop_date REAL,
            output TEXT,
            error TEXT,
            cause TEXT,
            history TEXT,
            redrive_count INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE UNIQUE INDEX map_children_by_run ON map_children (map_run_arn, idx)",
        "CREATE INDEX map_children_by_execution ON map_children (execution_arn, status)",
    ),
    # 8: children run in place are stored as spans, one row per checkpoint (see
    # durable.store.child_spans): how many children a row holds
    ("ALTER TABLE map_children ADD COLUMN span INTEGER NOT NULL DEFAULT 1",),
]

SCHEMA_VERSION = len(MIGRATIONS)

_CREATE_MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at REAL)"
)


async def migrate(
    conn: aiosqlite.Connection, where: str, migrations: list[tuple[str, ...]] = MIGRATIONS
) -> int:
    """Bring the database to the latest version; return the number of migrations applied.

    Runs under ``BEGIN IMMEDIATE`` so two processes opening the same new file do not both
    migrate. A database recorded at a version newer than ``migrations`` is refused.
    """
    known = len(migrations)
    await conn.execute("BEGIN IMMEDIATE")
    try:
        await conn.execute(_CREATE_MIGRATIONS_TABLE)
        rows = list(await conn.execute_fetchall("SELECT coalesce(max(version), 0) FROM schema_migrations"))
        current = int(rows[0][0])
        if current > known:
            raise StoreError(
                f"{where}: the database schema is version {current}, but this version of durable "
                f"only knows versions up to {known}; upgrade durable to open it"
            )
        for version in range(current + 1, known + 1):
            for statement in migrations[version - 1]:
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", (version, time.time())
            )
        await conn.execute("COMMIT")
        return known - current
    except BaseException:
        try:
            await conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        raise
