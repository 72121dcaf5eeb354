"""The embedded Redis's TCP fallback (DATA_DIR too long for a unix socket path) is on a loopback port any
local user can reach: it requires a password, generated once into DATA_DIR/redis_password (0600), given
to redis-server through a 0600 config file (not its command line, which `ps` shows), and carried by the
URL every process of the stack uses."""

import os
import socket
from urllib.parse import urlsplit

from orchestrator.embedded_redis import EmbeddedRedis, ping, public_url


def long_data_dir(tmp_path):
    path = tmp_path / ("d" * 60) / ("e" * 60)
    path.mkdir(parents=True)
    return path


def raw_command(url: str, command: bytes) -> bytes:
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(command)
        return sock.recv(256)


def test_the_tcp_fallback_requires_a_password_kept_private(tmp_path):
    data_dir = long_data_dir(tmp_path)
    redis = EmbeddedRedis(data_dir)
    url = redis.start()
    try:
        parts = urlsplit(url)
        assert parts.hostname == "127.0.0.1" and parts.password
        assert raw_command(url, b"PING\r\n").startswith(b"-NOAUTH")  # no password: refused
        assert ping(url)  # the URL's password: answers
        stored = data_dir / "redis_password"
        assert stored.read_text().strip() == parts.password
        assert oct(stored.stat().st_mode & 0o777) == "0o600"
        cmdline = open(f"/proc/{redis.pid}/cmdline", "rb").read()
        assert parts.password.encode() not in cmdline
        assert oct(os.stat(data_dir / "redis.conf").st_mode & 0o777) == "0o600"
        assert parts.password not in public_url(url)  # what runstack.json and the log show
        redis.process.kill()
        redis.process.wait()
        assert redis.restart_if_dead() and redis.url == url and ping(url)
    finally:
        redis.stop()
    again = EmbeddedRedis(data_dir)  # the next run keeps the password
    try:
        assert urlsplit(again.start()).password == parts.password
    finally:
        again.stop()


def test_the_unix_socket_stays_as_it_was(tmp_path):
    redis = EmbeddedRedis(tmp_path)
    url = redis.start()
    try:
        assert url == f"unix://{tmp_path / 'redis.sock'}?db=0" and ping(url)
    finally:
        redis.stop()
