"""Fault injection against real processes: lost database connections, a Stash that never answers."""

import socket
import threading

import pytest
from django.db import connection


def terminate_backends() -> int:
    """End every PostgreSQL session of the processes under test on the test database (what a failover or
    a DBA does). The test process's own sessions (tests/settings.py names them) are spared: one it kept in
    another thread or context would otherwise fail a later test of this worker."""
    if connection.vendor != "postgresql":
        pytest.skip("pg_terminate_backend needs PostgreSQL")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name <> %s",
            [connection.settings_dict["OPTIONS"]["application_name"]],
        )
        return cursor.fetchone()[0]


class SilentServer:
    """A TCP server that accepts connections, reads the request and never answers: a hung Stash."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.requests = 0
        self.held: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self._closed:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(client)
            client.settimeout(5)
            try:
                if client.recv(65536):
                    self.requests += 1
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self._closed = True
        self.sock.close()
        for client in self.held:
            client.close()
