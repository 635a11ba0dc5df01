"""Scratch databases: a fresh, empty database of one dialect for one job, gone afterwards.

`prove` replays bundles on one; anything else that must try statements without touching
a real database can do the same. A file-based engine (SQLite) gets a file in a temporary
folder. An engine on a server gets `CREATE DATABASE reviewkit_<purpose>_<random hex>` on
the server it is given, and `DROP DATABASE` on the way out, whether the job passed,
failed or was interrupted; a Ctrl-C that arrives while the database is being dropped
waits until it is gone. Only a killed process (SIGKILL, a lost machine) leaves one behind,
recognisable by its name.
"""

from __future__ import annotations

import secrets
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from reviewkit.dialects.base import Dialect
from reviewkit.dialects.connection import Connection, DatabaseURL, connect, create_database, drop_database, parse_url
from reviewkit.errors import OperationFailed, UsageError


def scratch_name(purpose: str) -> str:
    """Return a new scratch database's name: `reviewkit_prove_3f9a1c2b7d4e`."""
    return f"reviewkit_{purpose}_{secrets.token_hex(6)}"


@contextmanager
def scratch_database(dialect: Dialect, server: DatabaseURL | None, purpose: str = "prove") -> Iterator[Connection]:
    """Yield a connection to a new, empty database of `dialect`; drop the database on exit.

    `server` is where an engine that lives on a server creates it (its account must be
    allowed to create and drop databases); a file-based engine needs none.
    """
    if dialect.file_based:
        with _scratch_file(dialect) as conn:
            yield conn
        return
    if server is None:
        raise UsageError(f"a {dialect.title} scratch database needs a server to be created on")
    with _scratch_on_server(server, scratch_name(purpose)) as conn:
        yield conn


@contextmanager
def _scratch_file(dialect: Dialect) -> Iterator[Connection]:
    with tempfile.TemporaryDirectory(prefix="reviewkit-scratch-") as folder:
        path = Path(folder) / "scratch.db"
        conn = connect(parse_url(f"{dialect.url_schemes[0]}:///{path}", Path(folder)))
        try:
            yield conn
        finally:
            _close_quietly(conn)


@contextmanager
def _scratch_on_server(server: DatabaseURL, name: str) -> Iterator[Connection]:
    url = create_database(server, name)
    try:
        conn = connect(url)
        try:
            yield conn
        finally:
            _close_quietly(conn)
    finally:
        with _interrupts_deferred():
            _drop(server, name)


def _drop(server: DatabaseURL, name: str) -> None:
    try:
        drop_database(server, name)
    except OperationFailed as err:
        raise OperationFailed(f"could not drop the scratch database {name} on {server.redacted()} ({err}); "
                              "drop it by hand") from None


def _close_quietly(conn: Connection) -> None:
    """Close a connection the job may have left broken (a Ctrl-C mid-statement): the drop matters, not this."""
    with suppress(Exception):
        conn.close()


@contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Hold a Ctrl-C back until the block is done, then raise it; elsewhere than the main thread, do nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda number, frame: received.append(number))
    try:
        yield
    finally:
        # None: a handler Python did not install; the default one raises KeyboardInterrupt.
        signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)
    if received:
        raise KeyboardInterrupt
