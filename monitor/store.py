"""The monitor's database: embedded SQLite by default (WAL mode), PostgreSQL through the same code.

    open_store("monitor.db")                          # a file path or sqlite:///PATH: SQLite
    open_store("postgresql://user@host:5432/cvguard") # psycopg 3 (pip install 'cvguard[monitor]')

Plain DB-API with one SQL dialect for both: statements are written with `?` placeholders (turned into `%s` for
psycopg), types both databases accept (TEXT, BIGINT, DOUBLE PRECISION) and `ON CONFLICT DO NOTHING`.
JSON-valued columns are TEXT holding JSON. One monitor process writes a database at a time.

Schema (version 1; every change is a new entry in MIGRATIONS, applied in order, recorded in schema_migrations):

    events      one row per accepted event, keyed by its id (a repeated id is skipped: reruns are idempotent).
                seq (arrival order), time (event time, epoch seconds), time_text (as sent), received, author,
                target, target_source (explicit | mention | thread | none), thread, protected (JSON list of
                attributes), text_sha256, probs (JSON label -> probability), labels (JSON list of flagged
                labels), pii (JSON findings), violent (0/1), evidence_seq (NULL when not flagged).
                The text itself is kept only in evidence, and only for flagged events.
    rejects     malformed input: source, line, raw_sha256 (the key), reason, raw (first 2000 characters).
    evidence    the hash chain: seq (1, 2, ...), event_id, record (canonical JSON), prev_hash, hash, where
                hash = sha256(prev_hash + record) and record repeats seq and prev_hash.
    chain_head  one row (id 1): the last seq and hash, so deleting the newest records is detectable too.
    alerts      id, target, rule, priority, protected (0/1), attributes (JSON), status (open | closed), opened
                (receipt time), first_event, last_event, first_time, last_time, counts (JSON), categories
                (JSON label -> count), evidence_ids (JSON list of evidence seqs), announced (0/1: written to
                stdout / the webhook), updated.
    targets     name, attributes (JSON list of protected attributes), source (metadata | text rule).
    cursors     source (a followed file), byte offset and line number committed with the events read.
"""

import json
import sqlite3
from pathlib import Path

MIGRATIONS: list[tuple[int, list[str]]] = [
    (1, [
        """CREATE TABLE events (id TEXT PRIMARY KEY, seq BIGINT NOT NULL, time DOUBLE PRECISION NOT NULL,
           time_text TEXT NOT NULL, received DOUBLE PRECISION NOT NULL, author TEXT NOT NULL, target TEXT,
           target_source TEXT NOT NULL, thread TEXT, protected TEXT NOT NULL, text_sha256 TEXT NOT NULL,
           probs TEXT NOT NULL, labels TEXT NOT NULL, pii TEXT NOT NULL, violent BIGINT NOT NULL,
           evidence_seq BIGINT)""",
        "CREATE INDEX events_target_time ON events (target, time)",
        "CREATE INDEX events_thread ON events (thread)",
        """CREATE TABLE rejects (source TEXT NOT NULL, line BIGINT NOT NULL, raw_sha256 TEXT NOT NULL,
           reason TEXT NOT NULL, raw TEXT NOT NULL, received DOUBLE PRECISION NOT NULL,
           PRIMARY KEY (source, line, raw_sha256))""",
        """CREATE TABLE evidence (seq BIGINT PRIMARY KEY, event_id TEXT NOT NULL, record TEXT NOT NULL,
           prev_hash TEXT NOT NULL, hash TEXT NOT NULL)""",
        "CREATE INDEX evidence_event ON evidence (event_id)",
        "CREATE TABLE chain_head (id BIGINT PRIMARY KEY, seq BIGINT NOT NULL, hash TEXT NOT NULL)",
        """CREATE TABLE alerts (id TEXT PRIMARY KEY, target TEXT NOT NULL, rule TEXT NOT NULL,
           priority BIGINT NOT NULL, protected BIGINT NOT NULL, attributes TEXT NOT NULL, status TEXT NOT NULL,
           opened DOUBLE PRECISION NOT NULL, first_event TEXT NOT NULL, last_event TEXT NOT NULL,
           first_time DOUBLE PRECISION NOT NULL, last_time DOUBLE PRECISION NOT NULL, counts TEXT NOT NULL,
           categories TEXT NOT NULL, evidence_ids TEXT NOT NULL, announced BIGINT NOT NULL,
           updated DOUBLE PRECISION NOT NULL)""",
        "CREATE INDEX alerts_open ON alerts (status, priority)",
        "CREATE TABLE targets (name TEXT PRIMARY KEY, attributes TEXT NOT NULL, source TEXT NOT NULL)",
        "CREATE TABLE cursors (source TEXT PRIMARY KEY, byte_offset BIGINT NOT NULL, line BIGINT NOT NULL)",
    ]),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


class Store:
    """A DB-API connection with the placeholder style translated; every write happens inside `transaction`."""

    def __init__(self, connection, paramstyle: str, url: str):
        self.connection = connection
        self.postgres = paramstyle != "qmark"
        self.url = url

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.postgres else sql

    def execute(self, sql: str, params=()):
        cursor = self.connection.cursor()
        cursor.execute(self._sql(sql), tuple(params))
        return cursor

    def executemany(self, sql: str, rows) -> None:
        rows = [tuple(r) for r in rows]
        if rows:
            self.connection.cursor().executemany(self._sql(sql), rows)

    def query(self, sql: str, params=()) -> list[tuple]:
        return self.execute(sql, params).fetchall()

    def one(self, sql: str, params=()):
        row = self.execute(sql, params).fetchone()
        return row[0] if row else None

    def commit(self) -> None:
        self.connection.commit()

    def rollback(self) -> None:
        self.connection.rollback()

    def close(self) -> None:
        self.connection.close()

    def tables(self) -> set[str]:
        if self.postgres:
            rows = self.query("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")
        else:
            rows = self.query("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {r[0] for r in rows}

    def migrate(self) -> None:
        if "schema_migrations" not in self.tables():
            self.execute("CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied TEXT NOT NULL)")
            self.commit()
        done = {r[0] for r in self.query("SELECT version FROM schema_migrations")}
        newer = [v for v in done if v > SCHEMA_VERSION]
        if newer:
            raise ValueError(f"{self.url}: database schema version {max(newer)} is newer than this cvguard "
                             f"({SCHEMA_VERSION}); upgrade cvguard")
        for version, statements in MIGRATIONS:
            if version in done:
                continue
            try:
                for statement in statements:
                    self.execute(statement)
                self.execute("INSERT INTO schema_migrations VALUES (?, CURRENT_TIMESTAMP)", (version,))
                self.commit()
            except Exception:
                self.rollback()
                raise

    def schema_version(self) -> int:
        return self.one("SELECT MAX(version) FROM schema_migrations") or 0


def open_store(url: str | Path) -> Store:
    url = str(url)
    if url.startswith(("postgresql://", "postgres://")):
        try:
            import psycopg
        except ImportError as e:
            raise SystemExit(f"a PostgreSQL database needs psycopg: pip install 'cvguard[monitor]' ({e})") from None
        store = Store(psycopg.connect(url), "format", url)
    else:
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are begun explicitly, so a batch commits as one unit.
        connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")  # a committed batch survives a power cut, not just a kill
        connection.execute("PRAGMA busy_timeout=10000")
        store = Store(_SqliteTransactions(connection), "qmark", str(path))
    store.migrate()
    return store


class _SqliteTransactions:
    """sqlite3 in autocommit mode, with BEGIN issued before the first statement after a commit: Python's implicit
    transactions do not cover DDL, and the migrations must be all or nothing."""

    def __init__(self, connection: sqlite3.Connection):
        self.raw = connection
        self.open = False

    def cursor(self):
        if not self.open:
            self.raw.execute("BEGIN")
            self.open = True
        return self.raw.cursor()

    def commit(self) -> None:
        if self.open:
            self.raw.execute("COMMIT")
            self.open = False

    def rollback(self) -> None:
        if self.open:
            self.raw.execute("ROLLBACK")
            self.open = False

    def close(self) -> None:
        self.rollback()
        self.raw.close()


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
