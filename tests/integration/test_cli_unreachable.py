"""Every command that needs NATS or Redis, run while they are down (closed ports), ends within 5 seconds with
exit 1 and one line on stderr naming the server, its URL (password masked), why and the setting to change:
no reconnect loop, no traceback (those are for `healer --debug`)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from healer_cli.demo import condition_event
from healer_common.runtime.servers import ServerProcess, free_port

pytestmark = pytest.mark.integration

NATS_COMMANDS = [
    ["watch"],
    ["watch", "incidents", "dlq"],
    ["emit", "condition", "cto/rex-1", "OOMKilled"],
    ["emit", "file", "EVENT_FILE"],
    ["history", "--since", "1h"],
    ["audit"],
    ["memory", "list"],
    ["memory", "query", "--text", "oom"],
    ["memory", "stats"],
    ["memory", "add", "--content", "a fact"],
    ["ack", "inc-1"],
    ["approve", "rem-1"],
    ["deny", "rem-1"],
    ["predict"],
    ["analyze", "--since", "1h"],
    ["silence", "add", "--duration", "1h", "--reason", "maintenance", "node=worker-3"],
    ["silence", "expire", "abc123"],
    ["playbooks", "run", "failing-pod-restart", "--target", "cto/rex-1"],
]
REDIS_COMMANDS = [
    ["pause", "--reason", "maintenance"],
    ["resume"],
    ["silence", "list"],
]


def healer(args: list[str], env: dict[str, str], tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    (tmp_path / "event.json").write_text(condition_event("cto/rex-1", "OOMKilled").model_dump_json())
    args = [str(tmp_path / "event.json") if a == "EVENT_FILE" else a for a in args]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HEALER_")}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "healer_cli", *args],
        check=False,
        capture_output=True,
        text=True,
        env={**clean, "COLUMNS": "200", **env},
        timeout=60,
    )
    return result, time.monotonic() - started


@pytest.fixture
def down() -> dict[str, str]:
    """NATS and Redis URLs of ports nothing listens on; the Redis one carries a password. A token to sign with, so
    that approve, deny and playbooks run get as far as NATS (without one they stop earlier, saying so)."""
    return {
        "HEALER_NATS__URL": f"nats://127.0.0.1:{free_port()}",
        "HEALER_REDIS__URL": f"redis://:hunter2@127.0.0.1:{free_port()}/0",
        "HEALER_AUTH__TOKEN": "a-token-of-someone",
    }


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]


@pytest.mark.parametrize("args", NATS_COMMANDS, ids=" ".join)
def test_a_command_that_needs_nats_says_it_is_down_in_one_line_within_5s(
    args: list[str], down: dict[str, str], tmp_path: Path
) -> None:
    result, took = healer(args, down, tmp_path)

    assert result.returncode == 1, result.stderr
    assert took < 5, f"took {took:.1f}s"
    url = down["HEALER_NATS__URL"]
    expected = f"cannot reach NATS at {url}: connection refused — is `healer up` running? set HEALER_NATS__URL"
    assert one_line(result) == expected


@pytest.mark.parametrize("args", REDIS_COMMANDS, ids=" ".join)
def test_a_command_that_needs_redis_says_it_is_down_in_one_line_within_5s(
    args: list[str], down: dict[str, str], tmp_path: Path
) -> None:
    result, took = healer(args, down, tmp_path)

    assert result.returncode == 1, result.stderr
    assert took < 5, f"took {took:.1f}s"
    url = down["HEALER_REDIS__URL"].replace("hunter2", "***")
    expected = f"cannot reach Redis at {url}: connection refused — is `healer up` running? set HEALER_REDIS__URL"
    assert one_line(result) == expected
    assert "hunter2" not in result.stderr


@pytest.mark.parametrize("args", [["silence", "add", "-d", "1h", "-r", "x", "a=b"], ["silence", "expire", "abc"]])
def test_with_nats_up_and_redis_down_the_silence_commands_name_redis(
    args: list[str], nats_server: ServerProcess, down: dict[str, str], tmp_path: Path
) -> None:
    result, took = healer(args, {**down, "HEALER_NATS__URL": nats_server.url}, tmp_path)

    assert (result.returncode, took < 5) == (1, True), result.stderr
    assert one_line(result).startswith("cannot reach Redis at redis://:***@127.0.0.1:")


def test_status_reports_both_down_within_5s_with_masked_urls_and_full_names_in_a_narrow_pipe(
    down: dict[str, str], tmp_path: Path
) -> None:
    result, took = healer(["status", "--all"], {**down, "COLUMNS": "40"}, tmp_path)

    assert result.returncode == 1
    assert took < 5, f"took {took:.1f}s"
    assert "Traceback" not in result.stderr + result.stdout
    assert "hunter2" not in result.stdout
    rows = [line for line in result.stdout.splitlines() if "remediator" in line]  # what `| grep remediator` finds
    assert rows
    assert rows[0].split()[:2] == ["remediator", "DOWN"]
    assert any(line.split()[0] == "memory-bridge" for line in result.stdout.splitlines() if line)
    assert f"cannot reach NATS at {down['HEALER_NATS__URL']}: connection refused" in result.stdout
    assert "something is down" in result.stdout


def test_playbooks_list_without_redis_still_lists_them_and_warns_in_one_line(
    down: dict[str, str], tmp_path: Path
) -> None:
    result, took = healer(["playbooks", "list"], down, tmp_path)

    assert (result.returncode, took < 5) == (0, True), result.stderr
    assert "failing-pod-restart" in result.stdout
    assert one_line(result).startswith("warning: confidences are not shown: cannot reach Redis at redis://:***@")


def test_debug_shows_the_traceback_the_one_line_hides(down: dict[str, str], tmp_path: Path) -> None:
    result, _ = healer(["--debug", "watch"], down, tmp_path)

    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "healer_common.errors.Unreachable: cannot reach NATS at" in result.stderr
