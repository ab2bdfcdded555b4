"""Log patterns as the on-call engineer meets them (synthetic logs, written here): lines of one event share a
template whatever their values and header, different events do not; a burst of connection failures raises
H5 for the stream and quiet resolves it; ordinary chatter raises nothing; and `healer detect log-templates`
writes LogHub's shape, one row per line, in order.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from healer_cli.main import app
from healer_common.contract.events import EVENT_ADAPTER, LogEvent
from healer_common.settings.detector import LogSettings
from services.detector.log_header import HeaderReader
from services.detector.log_signatures import LogSignatures
from services.detector.log_templates import LogTemplates, mask
from tests.unit.log_formats import HEADERS, formatted_log, grouping_accuracy

T0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


def synthetic_log(count: int, seed: int = 1) -> list[tuple[str, str]]:
    """(line, event name) pairs in a log4j-like shape with varying values."""
    rng = random.Random(seed)
    events: dict[str, Callable[[], str]] = {
        "start": lambda: f"Starting worker {rng.randint(1, 99)} on port {rng.randint(1024, 65535)}",
        "fetch": lambda: f"Fetched {rng.randint(1, 10_000)} rows from table orders in {rng.random():.3f} s",
        "peer": lambda: f"Connected to peer 10.0.{rng.randint(0, 255)}.{rng.randint(0, 255)}:{rng.randint(1, 9999)}",
        "block": lambda: f"Received block blk_{rng.randint(-(10**12), 10**12)} of size {rng.randint(1, 10**8)}",
        "stop": lambda: "Shutting down gracefully",
    }
    lines = []
    for i in range(count):
        name = rng.choice(list(events))
        stamp = (T0 + dt.timedelta(seconds=i)).strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]
        level = rng.choice(["INFO", "WARN"])
        lines.append((f"{stamp} {level} [main] com.example.Worker: {events[name]()}", name))
    return lines


def test_lines_of_one_event_share_a_template_and_different_events_do_not() -> None:
    miner = LogTemplates()
    groups: dict[str, set[int]] = {}
    given = [(name, miner.add(line).template_id) for line, name in synthetic_log(400)]
    for name, template_id in given:
        groups.setdefault(name, set()).add(miner.resolve(template_id))

    assert all(len(ids) == 1 for ids in groups.values()), groups
    assert len({next(iter(ids)) for ids in groups.values()}) == len(groups)


@pytest.mark.parametrize("fmt", [*HEADERS, "json"])
def test_a_log_in_a_format_it_was_not_designed_on_groups_by_event(fmt: str) -> None:
    lines = formatted_log(fmt, 300, seed=7)
    miner = LogTemplates()

    found = [miner.resolve(t) for t in [miner.add(line).template_id for line, _ in lines]]

    assert grouping_accuracy([event for _, event in lines], found) == 1.0


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("I0317 16:15:55.383666   66229 cache.go:613] Cache hit ratio 0.42", "Cache hit ratio 0.42"),
        ("[Tue Mar 17 16:15:00 2026] [warn] Cache hit ratio 0.42", "Cache hit ratio 0.42"),
        ("2026-03-17 16:14:12,018 - app.db - INFO - Cache hit ratio 0.42", "Cache hit ratio 0.42"),
        ("20260317-16:15:57:823|Step_LSC|78144655|Cache hit ratio 0.42", "Cache hit ratio 0.42"),
        ('{"ts": "2026-03-17T16:14:21Z", "level": "info", "msg": "Cache hit ratio 0.42"}', "Cache hit ratio 0.42"),
    ],
)
def test_the_header_is_found_from_the_lines_alone(line: str, message: str) -> None:
    reader = HeaderReader()
    for _ in range(20):
        reader.learn(line)

    assert reader.message(line) == message


def test_a_line_without_the_streams_header_keeps_all_its_words() -> None:
    reader = HeaderReader()
    for i in range(50):
        reader.learn(f"2026-03-17 16:14:{i:02d},018 ERROR [main] com.example.Worker: Job {i} failed")

    assert (
        reader.message("\tat com.example.Worker.run(Worker.java:42)") == "\tat com.example.Worker.run(Worker.java:42)"
    )


def test_plain_messages_have_no_header_taken_from_them() -> None:
    reader = HeaderReader()
    for i in range(50):
        reader.learn(f"Fetched {i} rows from table orders in {i % 7} ms")

    assert reader.message("Fetched 3 rows from table orders in 2 ms") == "Fetched 3 rows from table orders in 2 ms"


def test_lines_seen_before_the_header_was_known_keep_their_template() -> None:
    miner = LogTemplates()
    lines = formatted_log("klog", 60, seed=3)
    first = [miner.add(line).template_id for line, _ in lines]
    again = {event: miner.add(line).template_id for line, event in formatted_log("klog", 200, seed=4)}
    first = [miner.resolve(t) for t in first]

    assert all(again[event] == tid for (_, event), tid in zip(lines, first, strict=True) if event in again)


def test_templates_differing_only_in_a_value_are_one() -> None:
    miner = LogTemplates()
    a = miner.add("2026-03-17 16:14:12 INFO web: Fan speeds ( 3552 3534 3375 3515 3479 )")
    b = miner.add("2026-03-17 16:14:13 INFO web: Fan speeds ( 3552 3534 3375 3515 3479 )")
    c = miner.add("2026-03-17 16:14:14 INFO web: Fan speeds ( 3212 3500 **** 3515 3479 )")

    assert a.template_id == b.template_id
    assert c.template_id != a.template_id  # a missing reading is a word, not a value


def test_a_word_with_two_values_is_two_events_and_one_with_many_is_a_value() -> None:
    miner = LogTemplates(variable_after=4)
    states = [miner.add(f"Location icon should now be in state {s}").template_id for s in ["Active", "Inactive"] * 5]
    users = [miner.add(f"session closed for user {u}").template_id for u in ["root", "alice", "bob", "deploy", "eve"]]

    assert len({miner.resolve(t) for t in states}) == 2
    assert len({miner.resolve(t) for t in users}) == 1
    assert len(set(users[:3])) == 3  # online, the first users went out apart: the word was not yet a value
    assert users[-1] == users[0]  # from the fourth on, the joined template answers at once


def test_syslog_headers_are_learnt_and_stripped() -> None:
    miner = LogTemplates()
    for i in range(250):
        miner.add(f"Jun {1 + i % 28} 10:{i % 60:02d}:00 host{i % 7} sshd[{1000 + i}]: Accepted password for user{i}")

    template = miner.add("Jun 30 11:00:00 host3 sshd[42]: Accepted password for admin")

    assert template.text == "Accepted password for <*>"


def test_masks_hide_values_not_words() -> None:
    assert mask("GET /api/v1/users/42 from 192.168.1.20:5432 took 0x1f ms") == "GET <*> from <*> took <*> ms"
    assert mask("node-246 blk_-123 worker-5b9a0 on eth0 over ssh2") == "node-<*> blk_<*> worker-<*> on eth0 over ssh2"
    assert mask("estimated size 1.2 KB, free 380.0 B") == "estimated size <*>, free <*>"
    assert mask("retrying in 5 seconds (attempt 3)") == "retrying in <*> seconds (attempt <*>)"
    written_out = "connection from 10.1.2.3 (host.example.org) at Fri Jul 1 09:00:00 2005"
    assert mask(written_out) == "connection from <*> (<*>) at <*>"
    assert mask("rhost=220-135-151-1.dyn.example.net user=root") == "rhost=<*> user=root"
    assert mask("attempt_1445144423722_0020_m_000000_0 from api.example.com") == "attempt_<*> from api.example.com"


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=200), min_size=1, max_size=30))
def test_any_line_gets_a_template(lines: list[str]) -> None:
    miner = LogTemplates()
    for line in lines:
        assert miner.add(line).template_id >= 1


def log_event(line: str, seconds: float, app_name: str = "gateway") -> LogEvent:
    body = {
        "specversion": "1.0",
        "id": f"l-{seconds}",
        "source": "loki",
        "type": "healer.log.v1",
        "time": (T0 + dt.timedelta(seconds=seconds)).isoformat(),
        "data": {"line": line, "level": "error", "labels": {"namespace": "cto", "app": app_name}},
    }
    event = EVENT_ADAPTER.validate_python(body)
    assert isinstance(event, LogEvent)
    return event


def test_a_burst_of_connection_failures_raises_h5_and_quiet_resolves_it() -> None:
    signatures = LogSignatures(LogSettings())
    alerts = []
    for i in range(8):
        line = f"dial tcp 10.0.3.{i}:6379: connect: connection refused (attempt {i})"
        alerts += signatures.observe(log_event(line, i * 5.0), T0 + dt.timedelta(seconds=i * 5))

    (fired,) = alerts
    assert (fired.alert_id, fired.status) == ("H5", "firing")
    assert fired.resource is not None
    assert str(fired.resource) == "deployment cto/gateway"
    assert fired.evidence[0].kind == "log"
    assert "connection refused" in fired.labels["signature"]

    assert signatures.tick(T0 + dt.timedelta(seconds=100)) == []
    (resolved,) = signatures.tick(T0 + dt.timedelta(seconds=35 + 300))
    assert (resolved.status, resolved.fingerprint) == ("resolved", fired.fingerprint)


def test_ordinary_chatter_raises_nothing() -> None:
    signatures = LogSignatures(LogSettings())
    alerts = []
    for i, (line, _) in enumerate(synthetic_log(300)):
        alerts += signatures.observe(log_event(line, float(i)), T0 + dt.timedelta(seconds=i))

    assert alerts == []


def test_detect_log_templates_writes_loghub_shape(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    lines = synthetic_log(120, seed=2)
    log.write_text("\n".join(line for line, _ in lines) + "\n")
    output = tmp_path / "structured.csv"

    result = CliRunner().invoke(app, ["detect", "log-templates", "--input", str(log), "--output", str(output)])

    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(output.read_text().splitlines()))
    assert [r["LineId"] for r in rows] == [str(i) for i in range(1, 121)]
    by_event: dict[str, set[str]] = {}
    for row, (_, name) in zip(rows, lines, strict=True):
        by_event.setdefault(name, set()).add(row["EventId"])
    assert all(len(ids) == 1 for ids in by_event.values())
