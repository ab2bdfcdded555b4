"""The loki source: LogQL queries for the lines that matter, published as `healer.log.v1` with their stream
labels (and the topology of the pod they name), where the detector's patterns and signatures read them.

Each named query reads `/loki/api/v1/query_range` forward from where its last run ended, re-reading
`overlap_s` for lines Loki ingested late; a line read twice is published once (its id is its stream, time and
text, and recently published ids are remembered). A run that hits `limit` goes on from its last line next
time. Lines carry `query` (which query found them) and a `level` (the stream's own, or read from the line).
A line the `dns` query finds in a pod's stream is also a `DNSFailure` condition about that pod, naming the
host (H5 counts them), at most one per pod and host every `dns_failure_every_s`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import OrderedDict
from typing import Any, NamedTuple

import httpx

from healer_common.contract.events import LogData
from healer_common.contract.messages import stable_id
from healer_common.settings.collector import LokiSourceSettings
from services.collector.observations import Emission, LogRecord, Observation, observe
from services.collector.sources.http_reads import Enrich, Polling, Refused, Unreachable

SOURCE = "loki"
_ANY_NAMESPACE = '{namespace=~".+"}'
# Most specific first: a line both queries find is published with the first query's name.
DEFAULT_QUERIES = {
    "dns": _ANY_NAMESPACE
    + ' |~ "(?i)(no such host|nxdomain|servfail|server misbehaving|temporary failure in name resolution'
    + '|dns lookup failed|i/o timeout.*:53)"',
    "database": _ANY_NAMESPACE
    + ' |~ "(?i)(too many (clients|connections)|connection pool (exhausted|timed out|is full)'
    + '|remaining connection slots|could not obtain (a )?connection|deadlock detected|slow query)"',
    "queue": _ANY_NAMESPACE
    + ' |~ "(?i)(queue (is )?full|queue backlog|backlog of|consumer timeout|messages? (dropped|rejected)'
    + '|redelivered)"',
    "errors": _ANY_NAMESPACE + ' |~ "(?i)(error|exception|fatal|panic|traceback)"',
}
DNS_QUERY = "dns"
_LOOKED_UP = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"lookup ([\w.-]+)",  # Go: dial tcp: lookup redis.cto.svc on 10.96.0.10:53: no such host
        r"could not resolve host:? ?([\w.-]+)",  # curl
        r"getaddrinfo \w+ ([\w.-]+)",  # Node.js: getaddrinfo ENOTFOUND api.example.com
        r"failed to resolve '([^']+)'",  # Python urllib3
        r"(?:nxdomain|servfail)\D*?([\w-]+(?:\.[\w-]+)+)",
        r"(?:name resolution|name or service not known|no such host)\W+([\w-]+(?:\.[\w-]+)+)",  # glibc, Python
    )
)
_LEVELS = (
    (re.compile(r"(?i)\b(fatal|panic|critical)\b"), "critical"),
    (re.compile(r"(?i)\b(error|err|exception|traceback)\b"), "error"),
    (re.compile(r"(?i)\b(warn|warning)\b"), "warning"),
)
LEVEL_LABELS = ("level", "detected_level", "severity")
NANOSECONDS = 1_000_000_000


def level_of(labels: dict[str, str], line: str) -> str:
    for key in LEVEL_LABELS:
        if labels.get(key):
            return labels[key].lower()[:16]
    return next((level for pattern, level in _LEVELS if pattern.search(line)), "info")


_REGEX_FILTER = re.compile(r'\|~\s*(?:"((?:[^"\\]|\\.)*)"|`([^`]*)`)')


def line_filters(logql: str) -> list[re.Pattern[str]]:
    """The `|~` regex filters of a LogQL query, to hold lines to them again: a real Loki already has, a lax
    stand-in may not, and a line must not be labelled with a query it does not match. [] when any of them is
    not a Python regex (RE2 mostly is)."""
    try:
        return [
            re.compile(quoted.encode().decode("unicode_escape") if quoted else raw)
            for quoted, raw in _REGEX_FILTER.findall(logql)
        ]
    except (re.error, UnicodeDecodeError):
        return []


class Page(NamedTuple):
    records: list[LogRecord]
    """the lines that pass the query's filters, oldest first"""
    newest_ns: int
    """the newest line's time in ns (Loki's own precision, which a datetime does not keep)"""
    received: int
    """lines in the answer, kept or not: as many as the limit means there are more"""


def records_from(answer: Any, query: str, enrich: Enrich, filters: list[re.Pattern[str]] | None = None) -> Page:
    """The lines of a `query_range` answer (resultType streams)."""
    found = []
    newest = received = 0
    for stream in ((answer or {}).get("data") or {}).get("result") or []:
        labels = {k: str(v) for k, v in (stream.get("stream") or {}).items()}
        enriched = enrich({**labels, "query": query})
        for value in stream.get("values") or []:
            stamp, line = str(value[0]), str(value[1])
            if not line or not stamp.isdigit():
                continue
            newest, received = max(newest, int(stamp)), received + 1
            if filters and not all(f.search(line) for f in filters):
                continue
            when = dt.datetime.fromtimestamp(int(stamp) / NANOSECONDS, tz=dt.UTC)
            data = LogData(line=line[:65_536], level=level_of(labels, line), labels=enriched)
            key = stable_id(sorted(labels.items()), stamp, line)
            found.append(LogRecord(data, when, f"loki/{key}"))
    return Page(sorted(found, key=lambda r: r.time), newest, received)


def host_looked_up(line: str) -> str:
    """The name a failed lookup was for, as the common resolvers and HTTP clients print it."""
    return next((found.group(1) for pattern in _LOOKED_UP if (found := pattern.search(line))), "an unknown host")


class DnsFailures:
    """A DNSFailure about the pod each line's stream names, at most one per pod and host every `every_s` of
    log time: H5 counts failures in minutes, and a resolver retrying in a loop prints hundreds. Lines of
    streams that name no pod stay logs only."""

    def __init__(self, every_s: float) -> None:
        self._every_s = every_s
        self._last: dict[tuple[str, str, str], dt.datetime] = {}

    def of(self, records: list[LogRecord]) -> list[Observation]:
        found = []
        for record in records:
            labels = record.data.labels
            namespace, pod = labels.get("namespace"), labels.get("pod")
            if not (namespace and pod):
                continue
            host = host_looked_up(record.data.line)
            last = self._last.get((namespace, pod, host))
            if last is not None and (record.time - last).total_seconds() < self._every_s:
                continue
            self._last[(namespace, pod, host)] = record.time
            message = f"lookup of {host} failed: {record.data.line}"
            found.append(
                observe(
                    "Pod",
                    (namespace, pod),
                    "DNSFailure",
                    labels={**labels, "host": host},
                    message=message,
                    container=labels.get("container"),
                    occurrence=record.key,
                )
            )
        return found


class RecentKeys:
    """The keys of the last `size` lines published, so an overlapping window does not publish them again."""

    def __init__(self, size: int) -> None:
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def fresh(self, records: list[LogRecord]) -> list[LogRecord]:
        new = []
        for record in records:
            if record.key not in self._keys:
                self._keys[record.key] = None
                new.append(record)
        while len(self._keys) > self._size:
            self._keys.popitem(last=False)
        return new


class LokiSource:
    def __init__(self, polling: Polling, settings: LokiSourceSettings) -> None:
        self._polling = polling
        self._settings = settings
        self._queries = {**(DEFAULT_QUERIES if settings.default_queries else {}), **settings.queries}
        self._filters = {name: line_filters(logql) for name, logql in self._queries.items()}
        self._cursors: dict[str, tuple[int, bool]] = {}  # query -> (where the next run starts, may it overlap)
        self._recent = RecentKeys(settings.limit * max(1, len(self._queries)) * 4)
        self._dns_failures = DnsFailures(settings.dns_failure_every_s)

    async def run(self) -> None:
        await self._polling.every(self._settings.interval_s, self._settings.timeout_s, self.read)

    async def read(self, http: httpx.AsyncClient) -> None:
        """One run of every query: new lines published, the sight told how it went."""
        polling, clock, sight = self._polling, self._polling.clock, self._polling.sight
        now = int(clock.now().timestamp() * NANOSECONDS)
        records: list[LogRecord] = []
        seen: list[Observation] = []
        failures: list[Observation] = []
        for name, logql in self._queries.items():
            try:
                answer = await polling.get_json(http, "/loki/api/v1/query_range", self._params(name, logql, now))
            except Unreachable as exc:
                seen += sight.unreachable(name, str(exc), clock.now())
                break
            except Refused as exc:
                seen += sight.degraded(name, f"query {name}: {exc}", clock.now())
                continue
            page = records_from(answer, name, polling.enrich, self._filters[name])
            truncated = page.received >= self._settings.limit
            self._cursors[name] = (page.newest_ns + 1, False) if truncated else (now, True)
            fresh = self._recent.fresh(page.records)
            records += fresh
            failures += self._dns_failures.of(fresh) if name == DNS_QUERY else []
            seen += sight.reached(name, clock.now())
        await polling.outbox.emit(SOURCE, Emission(conditions=seen + failures, logs=records))

    def _params(self, name: str, logql: str, now: int) -> dict[str, Any]:
        start, may_overlap = self._cursors.get(name, (now - int(self._settings.interval_s * NANOSECONDS), True))
        if may_overlap:
            start -= int(self._settings.overlap_s * NANOSECONDS)
        return {
            "query": logql,
            "start": max(0, start),
            "end": now,
            "limit": self._settings.limit,
            "direction": "forward",
        }
