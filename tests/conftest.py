"""Shared fixtures: a throwaway MariaDB server on 127.0.0.1 for the database-source tests."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest


@dataclass(frozen=True)
class MariaDB:
    host: str
    port: int
    user: str
    password: str
    database: str
    socket: str

    def connect(self, **kw: Any) -> Any:
        import pymysql

        return pymysql.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            database=self.database,
            autocommit=True,
            **kw,
        )


def _binary(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
        if found:
            return found
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    """A private mariadbd (own datadir, own port, loopback only), started once per session."""
    pytest.importorskip("pymysql", reason="PyMySQL is not installed")
    server = _binary("mariadbd", "mysqld")
    install = _binary("mariadb-install-db", "mysql_install_db")
    if not server or not install:
        pytest.skip("no MariaDB server here (apt-get install mariadb-server; .ci/run installs it)")
    import pymysql

    root = tmp_path_factory.mktemp("mariadb")
    data, sock = root / "data", root / "mysqld.sock"
    as_root = ["--user=root"] if os.geteuid() == 0 else []
    subprocess.run(
        [install, "--no-defaults", f"--datadir={data}", *as_root, "--skip-test-db",
         "--auth-root-authentication-method=normal"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    port = _free_port()
    log = root / "error.log"
    proc = subprocess.Popen(
        [server, "--no-defaults", f"--datadir={data}", *as_root, "--bind-address=127.0.0.1",
         f"--port={port}", f"--socket={sock}", f"--pid-file={root / 'pid'}",
         f"--log-error={log}", "--skip-log-bin", "--innodb-buffer-pool-size=16M"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            # The server answers on its socket once it is ready; nothing else to wait on.
            try:
                admin = pymysql.connect(unix_socket=str(sock), user="root", autocommit=True)
                break
            except pymysql.err.OperationalError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    text = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                    pytest.fail(f"mariadbd did not start:\n{text}")
                time.sleep(0.1)
        with admin.cursor() as cur:
            cur.execute("CREATE DATABASE alser_test")
            cur.execute("CREATE USER 'alser'@'127.0.0.1' IDENTIFIED BY 'alser-test-pw'")
            cur.execute("GRANT ALL ON alser_test.* TO 'alser'@'127.0.0.1'")
        admin.close()
        yield MariaDB("127.0.0.1", port, "alser", "alser-test-pw", "alser_test", str(sock))
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        with contextlib.suppress(OSError):
            shutil.rmtree(data)


@pytest.fixture
def mariadb_db(mariadb: MariaDB) -> Iterator[MariaDB]:
    """The server with an empty test database (tables of the previous test dropped)."""
    con = mariadb.connect()
    with con.cursor() as cur:
        cur.execute("SHOW TABLES")
        for (name,) in cur.fetchall():
            cur.execute(f"DROP TABLE `{name}`")
    con.close()
    yield mariadb
