"""Transactions over SQLite or PostgreSQL behind one small async interface.

Why two engines: on SQLite the fastest correct path is SQLAlchemy Core on the
synchronous sqlite3 driver, called straight from the event loop (a statement takes
microseconds; a thread hand-off per statement costs more than the statement). On
PostgreSQL the asyncpg driver through SQLAlchemy's async engine is the natural fit.
Services see neither: they ask for `read()` or `write()` and get a `Tx`.

SQLite allows one writer. Write transactions start with `BEGIN IMMEDIATE` (so two
processes never deadlock upgrading a read lock) and, within one process, take an
asyncio lock first: otherwise a second coroutine's write could block the loop in
`busy_timeout` while the first one waits for the loop to resume it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import mmap
import os
import sqlite3
import struct
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Protocol

from sqlalchemy import Connection, Dialect, Engine, Result, create_engine, event
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql import Executable

from townhall.domain.errors import Conflict, Unavailable

log = logging.getLogger(__name__)

# SQLSTATEs of a database that cannot serve now (too many connections, out of
# resources, starting or shutting down, connection lost) and of a transaction that lost
# a race it could not see coming (serialisation failure, deadlock).
_UNAVAILABLE = frozenset({"53000", "53300", "57P01", "57P02", "57P03", "08000", "08003", "08006"})
_RACE_LOST = frozenset({"40001", "40P01"})
BUSY_SECONDS = 30
"""How long a SQLite statement may wait for another process's lock."""
BEGIN_PAUSES = (0.001, 0.01)
"""The first and the longest pause between attempts to begin a SQLite write."""
CHECKPOINT_SECONDS = 0.5
"""How often a SQLite server process copies the WAL back into the database file."""


class UniqueViolation(Exception):
    """A unique or primary-key constraint refused a write."""


class ExclusionViolation(Exception):
    """An exclusion constraint (PostgreSQL's EXCLUDE, e.g. overlapping bookings) refused
    a write. The transaction is aborted; the caller reads the winner in a new one."""


class Tx(Protocol):
    """One open transaction (read-only or read-write)."""

    async def execute(self, stmt: Executable, params: Any = None) -> Result[Any]: ...

    async def driver_rows(self, stmt: Executable, params: Mapping[str, Any]) -> Sequence[Any]:
        """The rows of a hot read as the driver hands them over (tuples from sqlite3,
        records from asyncpg), indexed by position: see `Compiled` for when to use it."""
        ...

    async def savepoint_insert(self, stmt: Executable, params: Any = None) -> Result[Any]:
        """Run a write that may hit a unique constraint without aborting the transaction."""
        ...


class Compiled:
    """A statement compiled once per dialect for `Tx.driver_rows`.

    SQLAlchemy's result plumbing (a `Result`, a `Row` per row, the statement's cache key
    on every execute) is most of a hot read's time on SQLite once the statement itself
    is fast, and on PostgreSQL each execute also crosses the greenlet bridge. A hot read
    whose parameters and columns are plain text and integers can skip all of it: its
    SQL is compiled here once and handed to the driver itself. Anything that needs
    SQLAlchemy's type handling (dates, booleans on SQLite, JSON, IN lists) is refused
    when it is compiled, so the raw path can never read a value wrong.
    """

    __slots__ = ("names", "sql")

    def __init__(self, stmt: Executable, dialect: Dialect) -> None:
        compiled = stmt.compile(dialect=dialect)  # type: ignore[attr-defined]
        if compiled._bind_processors or any(b.expanding for b in compiled.binds.values()):
            raise ValueError("driver_rows: a bound parameter needs SQLAlchemy's processing")
        for column in compiled._result_columns:
            if column.type.result_processor(dialect, None) is not None:
                raise ValueError(f"driver_rows: column {column.keyname} needs processing")
        self.sql: str = compiled.string
        self.names: tuple[str, ...] = tuple(compiled.positiontup or ())

    def arguments(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(params[name] for name in self.names)


_COMPILED: dict[tuple[int, str], tuple[Executable, Compiled]] = {}


def compiled_for(stmt: Executable, dialect: Dialect) -> Compiled:
    """`stmt` compiled for `dialect`, once (hot statements are module constants; the
    statement is kept with its compilation so its id is never reused)."""
    key = (id(stmt), dialect.name)
    found = _COMPILED.get(key)
    if found is None:
        found = _COMPILED[key] = (stmt, Compiled(stmt, dialect))
    return found[1]


def _translated(exc: IntegrityError) -> Exception:
    """The store's own exception for a constraint a caller handles, else `exc` itself."""
    if getattr(exc.orig, "sqlstate", None) == "23P01" or "exclusion constraint" in str(exc.orig):
        return ExclusionViolation(str(exc.orig))
    if _is_unique_violation(exc):
        return UniqueViolation(str(exc.orig))
    return exc


@contextmanager
def _constraints_named() -> Iterator[None]:
    """A constraint a caller handles raises the store's own exception (see _translated)."""
    try:
        yield
    except IntegrityError as exc:
        translated = _translated(exc)
        if translated is exc:
            raise
        raise translated from exc


def _unavailable(exc: BaseException) -> Unavailable:
    """The domain's word for "the database cannot serve this now", logged in one line."""
    log.warning("database unavailable: %s", str(exc).splitlines()[0] if str(exc) else type(exc))
    return Unavailable("database", "The database is busy; try again shortly")


def _sqlstate(exc: DBAPIError) -> str | None:
    state = getattr(exc.orig, "sqlstate", None)
    return state if isinstance(state, str) else None


@contextmanager
def _failures_named() -> Iterator[None]:
    """A transaction the database gave up on (a lost race, a lost connection, SQLite
    busy past its timeout) raises a domain error the dialects answer (409, 503), not a
    driver error that would be a 500. Nothing of the transaction was written."""
    try:
        yield
    except DBAPIError as exc:
        state = _sqlstate(exc)
        if state in _RACE_LOST:
            detail = "A concurrent change got in the way; try again"
            raise Conflict("transaction", "", detail) from exc
        if state in _UNAVAILABLE or exc.connection_invalidated or "database is locked" in str(exc):
            raise _unavailable(exc) from exc
        raise


async def _connect(engine: AsyncEngine) -> AsyncConnection:
    """A pooled connection; the database refusing one (too many clients, connection
    refused, no pooled connection free in time) is Unavailable."""
    try:
        return await engine.connect().start()
    except (OSError, PoolTimeout, DBAPIError) as exc:
        raise _unavailable(exc) from exc


@asynccontextmanager
async def _connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    conn = await _connect(engine)
    try:
        yield conn
    finally:
        await conn.close()


def _is_unique_violation(exc: IntegrityError) -> bool:
    text = str(exc.orig).lower()
    return "unique" in text or "duplicate key" in text or "primary key" in text


class Snapshot(Protocol):
    """One read transaction that sees a single consistent state of every table (a
    backup's), whatever commits meanwhile; rows come in partitions, never all at once."""

    kind: str
    """`sqlite` or `postgresql`."""

    def stream(self, stmt: Executable, size: int) -> AsyncIterator[Sequence[Any]]: ...

    async def execute(self, stmt: Executable, params: Any = None) -> Result[Any]: ...


class Database(Protocol):
    url: str
    refuses_overlaps: bool
    """Whether the database itself refuses overlapping live bookings of a resource (an
    exclusion constraint), so a writer need not look for them first."""
    stamps_changes: bool
    """Whether `change_stamp` answers a number (else None)."""

    def change_stamp(self) -> int | None:
        """A number that every commit, by any connection of any process, changes: a
        cache in one process can tell, without asking anyone, that nothing it holds
        went stale (infrastructure/readcache.py)."""
        ...

    def read(self) -> Any: ...

    def write(self) -> Any: ...

    def snapshot(self) -> Any: ...

    def start(self) -> None:
        """Begin the database's own background work, once the server's loop runs."""
        ...

    async def dispose(self) -> None: ...


class _SyncTx:
    __slots__ = ("_conn",)

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def close(self) -> None:
        self._conn.close()

    async def execute(self, stmt: Executable, params: Any = None) -> Result[Any]:
        with _constraints_named():
            return self._conn.execute(stmt, params)

    async def driver_rows(self, stmt: Executable, params: Mapping[str, Any]) -> Sequence[Any]:
        compiled = compiled_for(stmt, self._conn.dialect)
        driver = self._conn.connection.driver_connection
        try:
            return driver.execute(compiled.sql, compiled.arguments(params)).fetchall()  # type: ignore[no-any-return,union-attr]
        except sqlite3.OperationalError as exc:  # busy, I/O: the database cannot serve now
            raise _unavailable(exc) from exc

    async def savepoint_insert(self, stmt: Executable, params: Any = None) -> Result[Any]:
        with self._conn.begin_nested():
            return await self.execute(stmt, params)


class _AsyncTx:
    __slots__ = ("_autocommit", "_conn", "_driver")

    def __init__(self, conn: AsyncConnection, autocommit: bool = False) -> None:
        self._conn = conn
        self._autocommit = autocommit
        """Only a read in autocommit runs on the driver itself: in a write transaction
        SQLAlchemy sends BEGIN before its own first statement, not before the driver's."""
        self._driver: Any = None

    async def execute(self, stmt: Executable, params: Any = None) -> Result[Any]:
        with _constraints_named():
            return await self._conn.execute(stmt, params)

    async def driver_rows(self, stmt: Executable, params: Mapping[str, Any]) -> Sequence[Any]:
        if not self._autocommit:
            return (await self.execute(stmt, params)).all()
        compiled = compiled_for(stmt, self._conn.dialect)
        if self._driver is None:
            self._driver = (await self._conn.get_raw_connection()).driver_connection
        import asyncpg  # loaded already: this is its connection

        try:
            return await self._driver.fetch(compiled.sql, *compiled.arguments(params))  # type: ignore[no-any-return]
        except (OSError, asyncpg.InterfaceError) as exc:  # the connection is gone
            await self._conn.invalidate()
            raise _unavailable(exc) from exc
        except asyncpg.PostgresError as exc:
            if exc.sqlstate in _UNAVAILABLE:
                raise _unavailable(exc) from exc
            raise

    async def savepoint_insert(self, stmt: Executable, params: Any = None) -> Result[Any]:
        async with self._conn.begin_nested():
            return await self.execute(stmt, params)

    async def close(self) -> None:
        await self._conn.close()


class _SyncSnapshot(_SyncTx):
    __slots__ = ()
    kind = "sqlite"

    async def stream(self, stmt: Executable, size: int) -> AsyncIterator[Sequence[Any]]:
        result = self._conn.execution_options(yield_per=size).execute(stmt)
        for part in result.partitions(size):
            yield part
            await asyncio.sleep(0)  # let the loop serve requests between partitions


class _AsyncSnapshot(_AsyncTx):
    __slots__ = ()
    kind = "postgresql"

    async def stream(self, stmt: Executable, size: int) -> AsyncIterator[Sequence[Any]]:
        result = await self._conn.stream(stmt.execution_options(yield_per=size))
        async for part in result.partitions(size):
            yield part


class SQLiteDatabase:
    """SQLite in WAL mode, driven synchronously from the event loop."""

    refuses_overlaps = False
    stamps_changes = True

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}
        )
        self._write_lock = asyncio.Lock()
        self._turns = _WriterTurns(self.engine.url.database)
        self._wal_index = _WalIndex(self.engine.url.database)
        self._checkpoints_elsewhere = False
        event.listen(self.engine, "connect", self._on_connect)
        event.listen(self.engine, "begin", _sqlite_on_begin)

        self._reader: _SyncTx | None = None
        self._checkpointer: asyncio.Task[None] | None = None

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        """Reads share one autocommit connection: no pool checkout, no BEGIN/COMMIT.

        Each statement sees the latest committed data, as a READ COMMITTED statement
        does on PostgreSQL; a read that needs several rows to agree uses one statement.
        """
        yield self._reading()

    def _reading(self) -> _SyncTx:
        if self._reader is None:
            conn = self.engine.connect()
            conn.info["autocommit"] = True
            self._reader = _SyncTx(conn)
        return self._reader

    def change_stamp(self) -> int:
        """Where the WAL stands, read from its index in shared memory (`_WalIndex`):
        it moves with every commit of any connection of any process. Where that index
        cannot be read, SQLite's `data_version` on the shared read connection, which
        moves with the same commits but costs a call into SQLite."""
        found = self._wal_index.position()
        if found is not None:
            return found
        driver: Any = self._reading()._conn.connection.driver_connection
        try:
            # This read also has SQLite map the index for the shared read connection,
            # which keeps it open (and its size) as long as the connection lives: only
            # then is it mapped here too (`_WalIndex.open`). Negative: never a position.
            version = -int(driver.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.OperationalError as exc:
            raise _unavailable(exc) from exc
        self._wal_index.open()
        found = self._wal_index.position()
        return version if found is None else found

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Tx]:
        async with self._write_lock, self._turns.taken():
            with _failures_named(), self.engine.connect() as conn:
                await _begin_immediate(conn)
                conn.info["begin"] = None  # begun: SQLAlchemy only tracks it
                with conn.begin():
                    yield _SyncTx(conn)

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Snapshot]:
        """A deferred transaction: in WAL mode its first read fixes the state it sees
        until it ends, while writers go on committing (they never wait for it)."""
        with _failures_named(), self.engine.connect() as conn:
            conn.info["begin"] = "BEGIN"
            with conn.begin() as tx:
                yield _SyncSnapshot(conn)
                tx.rollback()

    def start(self) -> None:
        """Checkpoint the WAL off the request path. SQLite's own checkpoint runs inside
        the commit that crosses `wal_autocheckpoint` pages, with an fsync: one booking in
        a few hundred waited ~100 ms for it (bench/rmp_load.py, one client). Connections
        made from now on leave checkpoints to this task, which runs them in a thread as
        PASSIVE ones (they never wait for, nor block, readers and writers)."""
        if self._checkpointer is None:
            self._checkpoints_elsewhere = True
            self._checkpointer = asyncio.get_running_loop().create_task(self._checkpoint_forever())

    async def _checkpoint_forever(self) -> None:
        path = self.engine.url.database
        if not path or path == ":memory:":
            return
        own = await asyncio.to_thread(sqlite3.connect, path, check_same_thread=False)
        try:
            while True:
                await asyncio.sleep(CHECKPOINT_SECONDS)
                try:
                    await asyncio.to_thread(own.execute, "PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error as exc:  # busy, or another process checkpoints
                    log.debug("WAL checkpoint skipped: %s", exc)
        finally:
            own.close()

    async def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpointer
            self._checkpointer = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        self._turns.close()
        self._wal_index.close()
        self.engine.dispose()

    def _on_connect(self, dbapi_conn: Any, _record: Any) -> None:
        _sqlite_on_connect(dbapi_conn, _record)
        if self._checkpoints_elsewhere:
            dbapi_conn.execute("PRAGMA wal_autocheckpoint=0")


class _WalIndex:
    """The header of the WAL index (`<database>-shm`), mapped read-only: where the WAL
    stands, without a call into SQLite.

    Asking SQLite (`PRAGMA data_version`) takes 3 µs, but each call lets go of the GIL,
    and under load Granian's threads take it and the request waits for them: a cached
    read of one user spent 7 % of its time there. The header's layout is SQLite's
    documented file format (sqlite.org/walformat.html): two copies of 48 bytes, the
    second written first, so equal copies are a whole header. Every commit appends
    frames (`mxFrame` grows) and every restart of the WAL draws new salts, so
    (`mxFrame`, salts) moves with every commit and never comes back to an old value.
    None where there is no such file (not in WAL mode, in memory) or the copies
    differ (a commit is writing them)."""

    HEADER = 48

    def __init__(self, database: str | None) -> None:
        self._path = f"{database}-shm" if database and database != ":memory:" else None
        self._map: mmap.mmap | None = None
        self._pid = 0

    def position(self) -> int | None:
        if self._map is None or self._pid != os.getpid():
            return None
        first, second = self._map[: self.HEADER], self._map[self.HEADER : 2 * self.HEADER]
        if first != second or not first[12]:  # being written, or not initialised
            return None
        frames, salt1, salt2 = struct.unpack_from("=I12xII", first, 16)
        return int(frames << 64 | salt1 << 32 | salt2)

    def open(self) -> None:
        """Map the header, once SQLite holds the file open for this process (see
        `SQLiteDatabase.change_stamp`); where it cannot be mapped, `position` stays
        None."""
        if self._path is None or (self._map is not None and self._pid == os.getpid()):
            return
        try:
            fd = os.open(self._path, os.O_RDONLY)
        except OSError:
            return
        try:
            self._map = mmap.mmap(fd, 2 * self.HEADER, mmap.MAP_SHARED, mmap.PROT_READ)
            self._pid = os.getpid()
        except (OSError, ValueError):  # shorter than two headers: not initialised yet
            return
        finally:
            os.close(fd)

    def close(self) -> None:
        if self._map is not None and self._pid == os.getpid():
            self._map.close()
        self._map = None


class _WriterTurns:
    """Whose turn it is to write, among the processes serving one SQLite file.

    SQLite lets one writer in at a time and answers the others "busy", so they poll
    (`_begin_immediate`); a poller pausing between tries loses nearly every race to the
    process that has just committed, whose next writer is already waiting. Under load
    one worker then did all the writing while the other's requests queued behind it,
    and two workers created fewer rooms than one. An exclusive flock on a file beside
    the database is a queue the kernel keeps instead: a process that finds it taken
    waits in a thread and is woken the moment it is given back.

    Only Townhall's processes take turns; any other writer still meets SQLite's own
    lock, which `_begin_immediate` waits for as before."""

    def __init__(self, database: str | None) -> None:
        usable = database and database != ":memory:" and hasattr(os, "fork")
        self._path = f"{database}-writer" if usable else None
        self._fd = -1
        self._pid = 0
        self._waiter: ThreadPoolExecutor | None = None

    def _file(self) -> int:
        """The lock file, opened by this process: a forked worker must not share the
        open file (and with it the lock) of the process it was forked from. Its waits
        run on a thread of their own, never queued behind password hashing."""
        assert self._path is not None
        if self._pid != os.getpid():
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
            self._waiter = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer-turn")
        return self._fd

    @asynccontextmanager
    async def taken(self) -> AsyncIterator[None]:
        if self._path is None:
            yield
            return
        import fcntl

        fd = self._file()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            await self._wait(fd)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._pid == os.getpid():
            os.close(self._fd)
            assert self._waiter is not None
            self._waiter.shutdown(wait=False, cancel_futures=True)
        self._pid = 0

    async def _wait(self, fd: int) -> None:
        import fcntl

        loop = asyncio.get_running_loop()
        waiting = loop.run_in_executor(self._waiter, fcntl.flock, fd, fcntl.LOCK_EX)
        try:
            await asyncio.wait_for(asyncio.shield(waiting), BUSY_SECONDS)
        except (asyncio.CancelledError, TimeoutError) as exc:
            waiting.add_done_callback(functools.partial(_given_back, fd))
            if isinstance(exc, TimeoutError):
                raise _unavailable(exc) from exc
            raise


def _given_back(fd: int, waited: asyncio.Future[None]) -> None:
    """The turn a waiter got after it stopped waiting (cancelled, or out of time)."""
    import fcntl

    if not waited.cancelled() and waited.exception() is None:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is unreliable).
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "foreign_keys=ON",
        f"busy_timeout={BUSY_SECONDS * 1000}",
        "cache_size=-65536",
        "case_sensitive_like=ON",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    if not conn.info.get("autocommit"):
        statement = conn.info.pop("begin", "BEGIN")
        if statement is not None:
            conn.exec_driver_sql(statement)


async def _begin_immediate(conn: Connection) -> None:
    """BEGIN IMMEDIATE, waiting on the event loop while another process writes.

    SQLite's busy handler would wait inside the call, holding the loop (and with it
    every request of the process) for 1, 2, 5... ms at a time even when the other
    writer is done after 0.1 ms. Here a refused BEGIN is tried again after a pause
    that starts at 1 ms and doubles up to 10 ms, the loop serving other requests
    meanwhile, within the same 30 s a busy handler would allow. Townhall's own
    processes rarely get here: they take turns first (`_WriterTurns`)."""
    driver: Any = conn.connection.driver_connection
    driver.execute("PRAGMA busy_timeout=0")
    try:
        pause, deadline = BEGIN_PAUSES[0], time.monotonic() + BUSY_SECONDS
        while True:
            try:
                driver.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if time.monotonic() > deadline:
                    raise _unavailable(exc) from exc
            await asyncio.sleep(pause)
            pause = min(pause * 2, BEGIN_PAUSES[1])
    finally:
        driver.execute(f"PRAGMA busy_timeout={BUSY_SECONDS * 1000}")


class PostgresDatabase:
    """PostgreSQL through asyncpg; constraints, not Python locks, keep invariants."""

    refuses_overlaps = True
    stamps_changes = False

    def __init__(self, url: str, pool_size: int = 10) -> None:
        # Fixed-size pools: requests beyond the pool wait for a connection instead of
        # opening short-lived overflow connections (a connect costs more than a query).
        self.url = url
        self.engine: AsyncEngine = create_async_engine(
            url, pool_size=pool_size, max_overflow=0, pool_timeout=30
        )
        # Reads run in autocommit on their own connections: no BEGIN/COMMIT round trips,
        # and no isolation-level reset on every check-in. Each statement is READ
        # COMMITTED. Half of them (when there are two or more) are asyncpg's own pool,
        # for the hot reads on the driver: no SQLAlchemy pool, no greenlet bridge.
        self._driver_pool_size = pool_size // 2
        self.read_engine: AsyncEngine = create_async_engine(
            url,
            pool_size=pool_size - self._driver_pool_size,
            max_overflow=0,
            pool_timeout=30,
            isolation_level="AUTOCOMMIT",
        )
        self._driver_pool: Any = None
        self._driver_pool_made: asyncio.Lock | None = None

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        """Connections are taken when the first statement needs one: a hot read on the
        driver never touches SQLAlchemy's pool."""
        read = _PostgresRead(self)
        try:
            with _failures_named():
                yield read
        finally:
            await read.close()

    async def driver_pool(self) -> Any:
        """asyncpg's pool for autocommit reads on the driver, made on first use (it
        needs the running loop); None when the read budget is a single connection."""
        if self._driver_pool is None and self._driver_pool_size > 0:
            self._driver_pool_made = self._driver_pool_made or asyncio.Lock()
            async with self._driver_pool_made:
                if self._driver_pool is None:
                    self._driver_pool = await _asyncpg_pool(
                        self.read_engine.url, self._driver_pool_size
                    )
        return self._driver_pool

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Tx]:
        async with _connection(self.engine) as conn:
            with _failures_named():
                async with conn.begin():
                    yield _AsyncTx(conn)

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Snapshot]:
        """A REPEATABLE READ, READ ONLY transaction: one state of every table however
        long the reading takes, without blocking writers."""
        async with _connection(self.engine) as conn:
            with _failures_named():
                await conn.execution_options(isolation_level="REPEATABLE READ")
                async with conn.begin() as tx:
                    await conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                    yield _AsyncSnapshot(conn)
                    await tx.rollback()

    def change_stamp(self) -> None:
        """None: no such number is cheaper than the reads a cache would save."""

    def start(self) -> None:
        """Nothing: PostgreSQL runs its own checkpoints."""

    async def dispose(self) -> None:
        if self._driver_pool is not None:
            await self._driver_pool.close()
            self._driver_pool = None
        await self.read_engine.dispose()
        await self.engine.dispose()


class _PostgresRead:
    """A read of `PostgresDatabase`: SQLAlchemy's connection for what goes through
    SQLAlchemy, asyncpg's pool for `driver_rows`, each taken on first need."""

    __slots__ = ("_db", "_tx")

    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db
        self._tx: _AsyncTx | None = None

    async def _sqlalchemy(self) -> _AsyncTx:
        if self._tx is None:
            self._tx = _AsyncTx(await _connect(self._db.read_engine), autocommit=True)
        return self._tx

    async def execute(self, stmt: Executable, params: Any = None) -> Result[Any]:
        return await (await self._sqlalchemy()).execute(stmt, params)

    async def savepoint_insert(self, stmt: Executable, params: Any = None) -> Result[Any]:
        return await (await self._sqlalchemy()).savepoint_insert(stmt, params)

    async def driver_rows(self, stmt: Executable, params: Mapping[str, Any]) -> Sequence[Any]:
        pool = await self._db.driver_pool()
        if pool is None:
            return await (await self._sqlalchemy()).driver_rows(stmt, params)
        import asyncpg  # loaded already: this is its pool

        compiled = compiled_for(stmt, self._db.read_engine.dialect)
        try:
            async with pool.acquire(timeout=30) as conn:
                return await conn.fetch(compiled.sql, *compiled.arguments(params))  # type: ignore[no-any-return]
        except (OSError, TimeoutError, asyncpg.InterfaceError) as exc:
            raise _unavailable(exc) from exc
        except asyncpg.PostgresError as exc:
            if exc.sqlstate in _UNAVAILABLE:
                raise _unavailable(exc) from exc
            raise

    async def close(self) -> None:
        if self._tx is not None:
            await self._tx.close()
            self._tx = None


async def _asyncpg_pool(url: Any, size: int) -> Any:
    """asyncpg's pool on the database of `url` (SQLAlchemy's), decoding JSON as
    SQLAlchemy's asyncpg dialect does, so both paths read the same values."""
    import asyncpg

    async def codecs(conn: Any) -> None:
        for kind in ("json", "jsonb"):
            await conn.set_type_codec(
                kind, encoder=str, decoder=json.loads, schema="pg_catalog", format="text"
            )

    async def kept_as_is(conn: Any) -> None:
        """No reset statement on release: these connections only run single read
        statements in autocommit, which leave no session state (asyncpg's default is a
        round trip on every release: advisory unlocks, CLOSE ALL, UNLISTEN, RESET)."""

    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        return await asyncpg.create_pool(
            dsn, min_size=0, max_size=size, init=codecs, reset=kept_as_is
        )
    except (OSError, asyncpg.PostgresError) as exc:
        raise _unavailable(exc) from exc


def async_url(url: str) -> str:
    """The URL the server uses: asyncpg for PostgreSQL, the plain driver for SQLite."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite+aiosqlite://"):
        return "sqlite://" + url.split("://", 1)[1]
    return url


def open_database(url: str, pool_size: int = 10) -> SQLiteDatabase | PostgresDatabase:
    url = async_url(url)
    if url.startswith("sqlite"):
        return SQLiteDatabase(url)
    return PostgresDatabase(url, pool_size)


def rows(result: Result[Any]) -> Sequence[Any]:
    return result.all()
