"""Logs in formats the template miner was not designed on, written here: the same events behind the headers
of common writers (glog/klog, logcat, Apache and nginx error logs, log4j and Python logging, Spring Boot,
Rails, syslog relayed through a collector, RFC 5424, the CRI container format, pipe-separated app logs, an
OpenStack-like service log, logfmt, JSON lines). Each line comes with the name of its event, so a test can
check that lines of one event share a template and different events do not, whatever the header.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from collections.abc import Callable

T0 = dt.datetime(2026, 3, 17, 16, 13, 38, 811_000, tzinfo=dt.UTC)
Header = Callable[[dt.datetime, random.Random, str], str]


def _hex(rng: random.Random, size: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(size))


def events(rng: random.Random) -> dict[str, Callable[[], str]]:
    """Event name -> a message of that event with fresh values."""
    return {
        "connect": lambda: (
            f"Connected to {rng.randint(10, 250)}.0.{rng.randint(0, 255)}.{rng.randint(1, 254)}:"
            f"{rng.randint(1024, 65535)} in {rng.randint(1, 900)} ms"
        ),
        "refused": lambda: (
            f"dial tcp 10.96.{rng.randint(0, 255)}.{rng.randint(1, 254)}:6379: connect: connection refused"
        ),
        "fetch": lambda: f"Fetched {rng.randint(1, 10_000)} rows from table orders",
        "request": lambda: (
            f'"GET /api/v1/users/{rng.randint(1, 99_999)} HTTP/1.1" status: 200 len: '
            f"{rng.randint(100, 9_999)} time: {rng.random():.7f}"
        ),
        "created": lambda: f"Created pod worker-{_hex(rng, 5)} in namespace default",
        "deleted": lambda: f"Deleted pod worker-{_hex(rng, 5)} in namespace default",
        "checkpoint": lambda: f"Checkpoint {rng.randint(1, 999)} written to /var/lib/app/data/{_hex(rng, 8)}.ckpt",
        "session": lambda: f"session opened for user {rng.choice(['root', 'alice', 'bob', 'deploy'])} by (uid=0)",
        "gc": lambda: (
            f"GC pause young {rng.randint(1, 300)}M->{rng.randint(1, 300)}M ({rng.randint(300, 999)}M) "
            f"{rng.random() * 50:.3f}ms"
        ),
        "started": lambda: "Started application in background mode",
        "stopping": lambda: "Stopping application: shutdown requested",
        "uuid": lambda: f"Request {uuid.UUID(int=rng.getrandbits(128))} completed with code {rng.choice([0, 1, 2])}",
        "retry": lambda: f"Retrying upload of part {rng.randint(1, 64)} of {rng.randint(64, 128)} after error",
        "cache": lambda: f"Cache hit ratio {rng.random():.2f} over {rng.randint(1, 60)} minutes",
    }


def _syslog_time(t: dt.datetime) -> str:
    return f"{t:%b} {t.day:2d} {t:%H:%M:%S}"


HEADERS: dict[str, Header] = {
    "klog": lambda t, r, lv: (
        f"{lv[0]}{t:%m%d %H:%M:%S.%f} {r.randint(1, 99_999):7d} {r.choice(['server', 'cache'])}.go:"
        f"{r.randint(10, 999)}] "
    ),
    "logcat": lambda t, r, lv: (
        f"{t:%m-%d %H:%M:%S}.{t.microsecond // 1000:03d} {r.randint(100, 9999):5d} "
        f"{r.randint(100, 9999):5d} {lv[0]} {r.choice(['ActivityManager', 'PowerManager', 'WifiService'])}: "
    ),
    "apache_error": lambda t, r, lv: f"[{t:%a %b %d %H:%M:%S %Y}] [{lv.lower()}] ",
    "nginx_error": lambda t, r, lv: (
        f"{t:%Y/%m/%d %H:%M:%S} [{lv.lower()}] {r.randint(1, 9999)}#0: *{r.randint(1, 999)} "
    ),
    "log4j_dash": lambda t, r, lv: (
        f"{t:%Y-%m-%d %H:%M:%S},{t.microsecond // 1000:03d} - {lv:<5} "
        f"[Worker[id={r.randint(1, 5)}]/0.0.0.0:2181:Elector@{r.randint(100, 999)}] - "
    ),
    "python": lambda t, r, lv: (
        f"{t:%Y-%m-%d %H:%M:%S},{t.microsecond // 1000:03d} - app.{r.choice(['db', 'web'])} - {lv} - "
    ),
    "spring": lambda t, r, lv: (
        f"{t:%Y-%m-%d %H:%M:%S}.{t.microsecond // 1000:03d}  {lv:>5} {r.randint(1, 99999)} --- "
        f"[{r.choice(['main', 'http-nio-8080-exec-3', 'scheduling-1']):>15}] o.e.{r.choice(['Web', 'Db'])}Service    : "
    ),
    "rails": lambda t, r, lv: (
        f"{lv[0]}, [{t:%Y-%m-%dT%H:%M:%S}.{t.microsecond:06d} #{r.randint(1, 9999)}]  {lv:>5} -- : "
    ),
    "relayed_syslog": lambda t, r, lv: (
        f"- {int(t.timestamp())} {t:%Y.%m.%d} dn{r.randint(1, 999)} {_syslog_time(t)} "
        f"dn{r.randint(1, 999)}/dn{r.randint(1, 999)} {r.choice(['crond', 'sshd', 'kernel'])}[{r.randint(1, 9999)}]: "
    ),
    "rfc5424": lambda t, r, lv: (
        f"<{r.randint(1, 191)}>1 {t:%Y-%m-%dT%H:%M:%S}.{t.microsecond // 1000:03d}Z "
        f"host{r.randint(1, 9)}.example.com app {r.randint(1, 9999)} ID{r.randint(1, 99)} - "
    ),
    "cri": lambda t, r, lv: f"{t:%Y-%m-%dT%H:%M:%S}.{t.microsecond:06d}123Z {r.choice(['stdout', 'stderr'])} F ",
    "pipes": lambda t, r, lv: (
        f"{t:%Y%m%d-%H:%M:%S}:{t.microsecond // 1000}|{r.choice(['Step_LSC', 'Step_SPUtils'])}|"
        f"{r.randint(10_000_000, 99_999_999)}|"
    ),
    "service": lambda t, r, lv: (
        f"api.log.1.{t:%Y-%m-%d_%H:%M:%S} {t:%Y-%m-%d %H:%M:%S}.{t.microsecond // 1000:03d} "
        f"{r.randint(1000, 99999)} {lv} svc.api.wsgi.server "
        f"[req-{uuid.UUID(int=r.getrandbits(128))} {_hex(r, 32)} - - -] "
    ),
    "logfmt": lambda t, r, lv: (
        f'time="{t:%Y-%m-%dT%H:%M:%S}Z" level={lv.lower()} caller=main.go:{r.randint(1, 99)} msg='
    ),
}
LEVELS = ("INFO", "INFO", "INFO", "WARN", "ERROR", "DEBUG")


def formatted_log(fmt: str, count: int, seed: int = 1) -> list[tuple[str, str]]:
    """`count` (line, event name) pairs in format `fmt` (a key of HEADERS, or "json")."""
    rng = random.Random(seed)
    kinds = events(rng)
    names = sorted(kinds)
    lines = []
    for i in range(count):
        name = rng.choice(names)
        when = T0 + dt.timedelta(seconds=i * rng.uniform(0.1, 30))
        level = rng.choice(LEVELS)
        message = kinds[name]()
        if fmt == "json":
            record = {"ts": when.isoformat(), "level": level.lower(), "msg": message, "pod": f"web-{_hex(rng, 5)}"}
            lines.append((json.dumps(record), name))
        else:
            lines.append((HEADERS[fmt](when, rng, level) + message, name))
    return lines


def grouping_accuracy(truth: list[str], predicted: list[int]) -> float:
    """LogHub's measure: a line is right when its predicted group is exactly the lines of its event."""
    by_truth: dict[str, set[int]] = {}
    by_predicted: dict[int, set[int]] = {}
    for line, (event, group) in enumerate(zip(truth, predicted, strict=True)):
        by_truth.setdefault(event, set()).add(line)
        by_predicted.setdefault(group, set()).add(line)
    right = sum(len(lines) for event, lines in by_truth.items() if by_predicted[predicted[min(lines)]] == lines)
    return right / len(truth)
