"""An unusable DATA_DIR (issue 14, item 17): one line naming the variable and the path, exit code != 0."""

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def run(env, *args):
    argv = [sys.executable, str(ROOT / "manage.py"), *args]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)


def bare_env(data_dir: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY")}
    env["DATA_DIR"] = data_dir
    return env


def under_a_file(tmp_path) -> str:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    return str(blocker / "data")


def read_only(tmp_path) -> str:
    if os.geteuid() == 0:
        # Root writes through permission bits; sysfs refuses new entries to everyone.
        return "/sys/orchestrator-data"
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    return str(folder)


@pytest.mark.parametrize("where", [under_a_file, read_only], ids=["under-a-file", "read-only"])
@pytest.mark.parametrize("command", [("runjobs",), ("migrate",), ("runstack",)])
def test_an_unusable_data_dir_is_one_line_naming_the_variable(tmp_path, where, command):
    data_dir = where(tmp_path)
    result = run(bare_env(data_dir), *command)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "DATA_DIR" in lines[0] and data_dir in lines[0]
