"""The hostile-input campaign (issues 13 and 18): thousands of generated bad inputs over NATS and HTTP against the
services on loopback, and what became of each. Prints one figure per line, `name value unit`.

    python bench/fuzz.py [--inputs 10000] [--seed 18]

It starts its own nats-server (max_payload 8 MiB, so oversize messages reach the services and their own limit
is what refuses them) and redis-server on free loopback ports and the services (SERVICES) as processes, as
`healer up --no-sandbox` does, and stops everything when done. The inputs are bench/fuzz_inputs.py's generators:
malformed JSON, wrong types, deep nesting, odd unicode, bad CloudEvent attributes, oversize messages and bodies
(also chunked), slow and cut-off bodies, long subject tokens, Alertmanager bodies over their limits, approvals
that are not objects, requests without a credential that holds (none, a wrong token, one without the scope, a
forged, stale or replayed signature); and a few subjects too long for NATS itself, on a connection of their own.

Figures: crashes (services that died: must be 0); inputs that reached a handler unvalidated (a dead letter of
another type than InvalidMessage/TooLarge, a handler_error or http_handler_failed in a log, a 5xx or a 2xx for
a bad request: must be 0); bad bus inputs without their dead letters (one per consumer of the subject, each with
a reason); bad HTTP requests without a 4xx; unauthorized requests not answered 401/403, and those that acted
(published their event; a replay's first, fresh copy is the one allowed to); RSS of the services before and
after; the publish-to-alert time of a valid event before the storm, right after its last input, and once the
backlog is drained; and the largest delay one poison message adds to the next valid event (goal: under 1 s).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import nats
import nats.errors
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the raw HTTP client lives with the tests
from fuzz_inputs import BusInput, Generator, HttpInput, storm, valid_event

from healer_cli.dlq import subject_matches
from healer_common.clock import utcnow
from healer_common.contract import streams
from healer_common.contract.auth import signed_headers
from healer_common.contract.streams import ConsumerSpec
from healer_common.runtime.busclient import BusClient
from healer_common.runtime.servers import start_nats, start_redis
from healer_common.settings import SERVICES, Settings
from healer_common.testing import (
    Recorder,
    ServiceRunner,
    bearer,
    eventually,
    isolated_settings,
    recording,
    signing_secret,
)
from tests.support.raw_http import raw_post
from tests.support.service_http import service_url

CONSUMERS = [v for v in vars(streams).values() if isinstance(v, ConsumerSpec)]
LIVE: list[ConsumerSpec] = []  # filled once the services run
VALIDATED = {"InvalidMessage", "TooLarge"}
HTTP_CONCURRENCY = 32
BUS_CHUNK = 200


def progress(*words: object) -> None:
    print("#", *words, file=sys.stderr, flush=True)


def figure(name: str, value: float, unit: str) -> None:
    print(f"{name} {value:.6g} {unit}", flush=True)


class Alerts:
    """Times from publishing a valid event to its alert, through one core subscription to every alert."""

    def __init__(self, bus: BusClient) -> None:
        self._bus = bus
        self._waiting: dict[str, asyncio.Future[float]] = {}

    async def __aenter__(self) -> Alerts:
        self._sub = await self._bus.nc.subscribe(self._bus.space.all_alerts, cb=self._on_alert)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._sub.unsubscribe()

    async def _on_alert(self, msg: Any) -> None:
        pod = json.loads(msg.data).get("labels", {}).get("pod", "")
        if (future := self._waiting.pop(pod, None)) is not None and not future.done():
            future.set_result(time.monotonic())

    async def time_one(self, after: BusInput | None = None, timeout_s: float = 120.0) -> float:
        """Publish `after` (a poison message) if given, then a valid event; seconds until the valid one's alert."""
        if after is not None:
            await self._bus.js.publish(after.subject, after.body, headers={"Nats-Msg-Id": uuid.uuid4().hex})
        event = valid_event_body()
        pod = event["data"]["resource"]["name"]
        arrived: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiting[pod] = arrived
        sent = time.monotonic()
        await self._bus.js.publish(self._bus.space.custom_events("fuzz"), json.dumps(event).encode())
        return await asyncio.wait_for(arrived, timeout_s) - sent


def valid_event_body() -> dict[str, Any]:
    return valid_event(random.Random())


def consumers_of(subject: str, bus: BusClient) -> int:
    """How many durable consumers (of those the running services declared) get a message on `subject`."""
    return sum(1 for spec in LIVE if subject_matches(spec.subject(bus.space), subject))


async def declared_consumers(bus: BusClient) -> list[ConsumerSpec]:
    """The consumers the running services declared (some exist only with a setting, e.g. notifier-alerts)."""
    found = []
    for spec in CONSUMERS:
        try:
            await bus.js.consumer_info(spec.stream.name(bus.space), spec.durable)
        except nats.errors.Error:
            continue
        found.append(spec)
    return found


async def send_bus(bus: BusClient, plan: list[tuple[int, Generator, BusInput]], errors: Counter[str]) -> Counter[str]:
    """Publish (or request) every bus input; returns how the requests were answered."""
    answered: Counter[str] = Counter()

    async def one(index: int, generator: Generator, item: BusInput) -> None:
        headers = {**item.headers, "Nats-Msg-Id": f"fuzz-{index}"}
        try:
            if item.request:
                answer = await bus.nc.request(item.subject, item.body, timeout=10, headers=headers)
                answered["with_error" if b"error" in answer.data else "without_error"] += 1
            else:
                await bus.js.publish(item.subject, item.body, headers=headers)
        except (nats.errors.Error, TimeoutError) as exc:
            errors[f"{generator.name}:{type(exc).__name__}"] += 1

    for start in range(0, len(plan), BUS_CHUNK):
        await asyncio.gather(*(one(i, g, item) for i, g, item in plan[start : start + BUS_CHUNK]))
    return answered


def credentials_for(item: HttpInput, settings: Settings) -> list[dict[str, str]]:
    """The headers of each copy to send (two for a replay), made now: a signature carries the time."""
    secret = signing_secret(settings)
    match item.auth:
        case "admin":
            return [bearer(settings, "test-admin")]
        case "none":
            return [{}]
        case "wrong_token":
            return [{"Authorization": f"Bearer {uuid.uuid4().hex}"}]
        case "wrong_scope":  # on-call may not ingest; a source may not approve
            return [bearer(settings, "test-oncall" if item.service == "collector" else "test-source")]
        case "forged_signature":
            return [signed_headers(uuid.uuid4().hex, item.body, utcnow())]
        case "stale_signature":
            return [signed_headers(secret, item.body, utcnow() - dt.timedelta(hours=1))]
        case "replayed":
            fresh = signed_headers(secret, item.body, utcnow())
            return [fresh, fresh]


async def send_http(
    urls: dict[str, str], plan: list[tuple[int, Generator, HttpInput]], settings: Settings
) -> list[tuple[Generator, HttpInput, list[int]]]:
    """Every HTTP input, with the credential it asks for; the status of each copy sent."""
    gate = asyncio.Semaphore(HTTP_CONCURRENCY)

    async def one(generator: Generator, item: HttpInput) -> tuple[Generator, HttpInput, list[int]]:
        slow = item.slow_bytes_per_s is not None or item.stop_after is not None
        statuses = []
        async with asyncio.timeout(60) if slow else gate:
            for credential in credentials_for(item, settings):
                answer = await raw_post(
                    urls[item.service],
                    item.path,
                    item.body,
                    content_type=item.content_type,
                    bytes_per_s=item.slow_bytes_per_s,
                    stop_after=item.stop_after,
                    chunked=item.chunked,
                    headers={**credential, **item.headers},
                    timeout_s=60,
                )
                statuses.append(answer.status)
        return generator, item, statuses

    return await asyncio.gather(*(one(g, item) for _, g, item in plan))


class Published:
    """How many events each unauthorized input's own source published (fuzz_inputs' `ua-` sources)."""

    def __init__(self, bus: BusClient) -> None:
        self._bus = bus
        self.counts: Counter[str] = Counter()

    async def __aenter__(self) -> Published:
        family = self._bus.space.custom_events("ua").rsplit(".", 1)[0]
        self._sub = await self._bus.nc.subscribe(f"{family}.*", cb=self._seen, pending_bytes_limit=1 << 30)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._sub.unsubscribe()

    async def _seen(self, msg: Any) -> None:
        if (source := msg.subject.rsplit(".", 1)[-1]).startswith("ua-"):
            self.counts[source] += 1


async def too_long_for_nats(settings: Settings, count: int) -> int:
    """Subjects NATS itself refuses (over its 4 KiB control line): the server closes that client's connection.
    Returns how many were refused so; each on a throwaway connection, so the services never see them."""
    refused = 0
    for _ in range(count):
        closed = asyncio.Event()

        async def on_closed() -> None:
            closed.set()  # noqa: B023 - awaited before the next iteration rebinds it

        nc = await nats.connect(settings.nats.url, closed_cb=on_closed, max_reconnect_attempts=0)
        try:
            await nc.publish(f"{settings.space.custom_events('fuzz')}.{'x' * 5_000}", b"{}")
            await nc.flush(timeout=2)
        except nats.errors.Error:
            pass
        try:
            await asyncio.wait_for(closed.wait(), 5)
            refused += 1
        except TimeoutError:
            await nc.close()
    return refused


def rss_mib(runner: ServiceRunner) -> dict[str, float]:
    return {n: psutil.Process(p.process.pid).memory_info().rss / 2**20 for n, p in runner.running.items() if p.alive()}


async def poison_delays(alerts: Alerts, bus: BusClient, usual: float) -> dict[str, float]:
    """The extra time one poison message adds to the valid event published right after it (worst of 3)."""
    rng = random.Random(1)
    poisons = {
        "2mb_event": json.dumps(valid_event(rng, message="x" * 2_000_000)).encode(),
        "900kb_escapes": b'{"specversion": "1.0", "data": "' + b"\x01" * 900_000 + b'"',
        "50k_deep": b"[" * 50_000 + b"]" * 50_000,
        "malformed": b"{not json",
    }
    subject = bus.space.custom_events("fuzz")
    delays = {}
    for name, body in poisons.items():
        took = [await alerts.time_one(BusInput(subject, body)) for _ in range(3)]
        progress(f"poison {name}: next alert after", [round(t * 1000, 1) for t in took], "ms")
        delays[name] = max(took) - usual
    return delays


def letters_by_input(dead: Recorder) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for msg in dead.messages:
        letter = json.loads(msg.data)
        found.setdefault(letter.get("headers", {}).get("Nats-Msg-Id", ""), []).append(letter)
    return found


def judge_bus(
    plan: list[tuple[int, Generator, BusInput]], bus: BusClient, letters: dict[str, list[dict[str, Any]]]
) -> Counter[str]:
    tally: Counter[str] = Counter()
    for index, generator, item in plan:
        got = letters.get(f"fuzz-{index}", [])
        wanted = 1 if item.request else consumers_of(item.subject, bus)
        tally["bus_inputs"] += 1
        tally["bus_dead_letters"] += len(got)
        tally["bus_letters_without_reason"] += sum(1 for letter in got if not letter.get("reason"))
        unvalidated = [letter for letter in got if letter.get("error_type") not in VALIDATED]
        tally["unvalidated"] += len(unvalidated)
        for letter in unvalidated:
            tally[f"unvalidated:{letter['service']}:{letter['error_type']}"] += 1
        if generator.expect in ("refuse", "error"):
            tally["bus_bad_inputs"] += 1
            tally["bus_bad_inputs_missing_letters"] += int(len(got) < wanted)
            family = bus.space.family(item.subject).rsplit(".", 1)[-1]
            tally[f"missing:{generator.name} on {family}"] += int(len(got) < wanted)
    return tally


def judge_http(answers: list[tuple[Generator, HttpInput, list[int]]], published: Counter[str]) -> Counter[str]:
    tally: Counter[str] = Counter()
    for generator, item, statuses in answers:
        status = statuses[-1]
        tally["http_inputs"] += 1
        tally[f"http_status_{status}"] += 1
        if generator.expect == "unauthorized":
            tally["http_unauthorized"] += 1
            tally["http_unauthorized_not_401_403"] += int(status not in (401, 403))
            tally[f"no401:{generator.name}:{status}"] += int(status not in (401, 403))
            allowed = len(statuses) - 1  # a replay's fresh first copy may act, and must have: 202
            tally["http_unauthorized_acted"] += int(published[item.path.rsplit("/", 1)[-1]] > allowed)
            tally["http_replay_originals_not_accepted"] += int(allowed == 1 and statuses[0] != 202)
        elif generator.expect == "refuse":
            tally["http_bad_requests"] += 1
            tally["http_bad_requests_without_4xx"] += int(not 400 <= status < 500)
            tally[f"no4xx:{generator.name}:{status}"] += int(not 400 <= status < 500)
            tally["unvalidated"] += int(200 <= status < 300)
        tally["unvalidated"] += int(status >= 500)
    return tally


def log_errors(runner: ServiceRunner) -> list[str]:
    """The log lines of a handler that failed on an input (it got past validation)."""
    found = []
    for name, process in runner.running.items():
        for line in process.log().splitlines():
            if '"handler_error"' in line or '"http_handler_failed"' in line:
                record = json.loads(line)
                cause = (record.get("exception") or record.get("error") or "").strip().splitlines()[-1:]
                found.append(f"{name} on {record.get('subject') or record.get('path')}: {' | '.join(cause)[:300]}")
    return found


async def drained(bus: BusClient, expected_letters: int, dead: Recorder) -> None:
    """Until no consumer has a message waiting or unacked, and the dead letters counted on have come."""

    async def idle(spec: ConsumerSpec) -> bool:
        try:
            info = await bus.js.consumer_info(spec.stream.name(bus.space), spec.durable)
        except nats.errors.Error:
            return True  # a consumer no running service declared
        return not info.num_pending and not info.num_ack_pending

    async def all_idle() -> bool:
        return all([await idle(spec) for spec in CONSUMERS])

    await eventually(all_idle, timeout=600, interval=0.5, what="every consumer drained")
    deadline = time.monotonic() + 30
    while len(dead.messages) < expected_letters and time.monotonic() < deadline:  # noqa: ASYNC110 - no event to await
        await asyncio.sleep(0.2)  # a letter still in flight; what never comes is reported as missing


async def campaign(args: argparse.Namespace, runner: ServiceRunner, bus: BusClient) -> None:
    urls = {name: await service_url(runner.settings, name) for name in ("collector", "remediator")}
    LIVE[:] = await declared_consumers(bus)
    before = rss_mib(runner)
    plan = list(enumerate(storm(args.inputs, args.seed, bus.space)))
    bus_plan = [(i, g, item) for i, (g, item) in plan if isinstance(item, BusInput)]
    http_plan = [(i, g, item) for i, (g, item) in plan if isinstance(item, HttpInput)]
    expected = sum(
        1 if item.request else consumers_of(item.subject, bus) for _, g, item in bus_plan if g.expect != "either"
    )
    publish_errors: Counter[str] = Counter()
    async with Alerts(bus) as alerts, Published(bus) as published, recording(bus, bus.space.all_dlq) as dead:
        usual = statistics.median([await alerts.time_one() for _ in range(5)])
        poisons = await poison_delays(alerts, bus, usual)
        poison_letters = len(dead.messages)
        progress("storm", len(bus_plan), "bus inputs,", len(http_plan), "HTTP requests")
        started = time.monotonic()
        http_done = asyncio.create_task(send_http(urls, http_plan, runner.settings))
        answered = await send_bus(bus, bus_plan, publish_errors)
        right_after = await alerts.time_one(timeout_s=600)  # the bus backlog at its largest, HTTP still going
        answers = await http_done
        storm_s = time.monotonic() - started
        progress("storm over after", round(storm_s, 1), "s; draining")
        await drained(bus, poison_letters + expected, dead)
        drain_s = time.monotonic() - started - storm_s
        settled = statistics.median([await alerts.time_one() for _ in range(5)])
    refused_by_nats = await too_long_for_nats(runner.settings, args.nats_refusals)
    after = rss_mib(runner)
    tally = judge_bus(bus_plan, bus, letters_by_input(dead)) + judge_http(answers, published.counts)
    tally["requests_answered_with_error"] = answered["with_error"]
    tally["requests_answered_without_error"] = answered["without_error"]
    timings = {"storm": storm_s, "drain": drain_s, "usual": usual, "right_after": right_after, "settled": settled}
    report(args, runner, tally, publish_errors, before, after, timings, poisons, refused_by_nats)


def report(
    args: argparse.Namespace,
    runner: ServiceRunner,
    tally: Counter[str],
    publish_errors: Counter[str],
    before: dict[str, float],
    after: dict[str, float],
    timings: dict[str, float],
    poisons: dict[str, float],
    refused_by_nats: int,
) -> None:
    crashed = [name for name, p in runner.running.items() if not p.alive()]
    figure("fuzz_inputs", args.inputs + args.nats_refusals, "inputs")
    figure("fuzz_storm_seconds", timings["storm"], "s")
    figure("fuzz_drain_seconds", timings["drain"], "s")
    figure("fuzz_crashes", len(crashed), "services")
    figure("fuzz_unvalidated", tally["unvalidated"] + len(log_errors(runner)), "inputs")
    figure("fuzz_bus_inputs", tally["bus_inputs"], "messages")
    figure("fuzz_bus_bad_inputs", tally["bus_bad_inputs"], "messages")
    figure("fuzz_bus_dead_letters", tally["bus_dead_letters"], "letters")
    figure("fuzz_bus_bad_inputs_missing_dead_letters", tally["bus_bad_inputs_missing_letters"], "messages")
    figure("fuzz_bus_dead_letters_without_reason", tally["bus_letters_without_reason"], "letters")
    figure("fuzz_bus_publish_failures", sum(publish_errors.values()), "messages")
    figure("fuzz_bus_requests_answered_with_error", tally["requests_answered_with_error"], "requests")
    figure("fuzz_bus_requests_answered_without_error", tally["requests_answered_without_error"], "requests")
    figure("fuzz_http_inputs", tally["http_inputs"], "requests")
    figure("fuzz_http_bad_requests", tally["http_bad_requests"], "requests")
    figure("fuzz_http_bad_requests_without_4xx", tally["http_bad_requests_without_4xx"], "requests")
    figure("fuzz_http_unauthorized", tally["http_unauthorized"], "requests")
    figure("fuzz_http_unauthorized_not_401_403", tally["http_unauthorized_not_401_403"], "requests")
    figure("fuzz_http_unauthorized_acted", tally["http_unauthorized_acted"], "requests")
    figure("fuzz_http_replay_originals_not_accepted", tally["http_replay_originals_not_accepted"], "requests")
    for status in sorted(k for k in tally if k.startswith("http_status_")):
        figure(f"fuzz_{status}", tally[status], "requests")
    figure("fuzz_subjects_refused_by_nats", refused_by_nats, "connections")
    figure("fuzz_rss_before", sum(before.values()), "MiB")
    figure("fuzz_rss_after", sum(after.values()), "MiB")
    for name in SERVICES:
        figure(f"fuzz_rss_{name.replace('-', '_')}_before_after", after.get(name, 0) - before.get(name, 0), "MiB")
    figure("fuzz_alert_latency_before_storm", timings["usual"] * 1000, "ms")
    figure("fuzz_alert_latency_right_after_storm", timings["right_after"] * 1000, "ms")
    figure("fuzz_alert_latency_after_drain", timings["settled"] * 1000, "ms")
    for name, delay in poisons.items():
        figure(f"fuzz_poison_delay_{name}", delay * 1000, "ms")
    figure("fuzz_poison_delay_max", max(poisons.values()) * 1000, "ms")
    explain(runner, tally, publish_errors, crashed)


def explain(runner: ServiceRunner, tally: Counter[str], publish_errors: Counter[str], crashed: list[str]) -> None:
    """What went wrong, by generator, as comment lines after the figures."""
    for problem, count in sorted(publish_errors.items()):
        print(f"# {problem}: {count}", flush=True)
    for key in sorted(k for k in tally if k.startswith("no4xx:") and tally[k]):
        _, name, status = key.split(":")
        print(f"# {tally[key]} bad request(s) of {name} answered {status}", flush=True)
    for key in sorted(k for k in tally if k.startswith("no401:") and tally[k]):
        _, name, status = key.split(":")
        print(f"# {tally[key]} unauthorized request(s) of {name} answered {status}", flush=True)
    for key in sorted(k for k in tally if k.startswith("unvalidated:") and tally[k]):
        _, service, error_type = key.split(":")
        print(f"# {tally[key]} dead letter(s) of {service} with {error_type}: past validation", flush=True)
    for key in sorted(k for k in tally if k.startswith("missing:") and tally[k]):
        print(f"# dead letters missing for {tally[key]} input(s) of {key.removeprefix('missing:')}", flush=True)
    for line in log_errors(runner):
        print(f"# failed in a handler: {line}", flush=True)
    if crashed:
        print(f"# crashed: {crashed}\n{runner.logs()}", flush=True)


async def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="healer-fuzz-") as tmp:
        workdir = Path(tmp)
        nats_server = start_nats(workdir / "nats", limits={"max_payload": 8 * 1024 * 1024})
        redis = start_redis(workdir / "redis")
        settings = isolated_settings(nats_server.url, f"{redis.url}/0", workdir, log={"level": "WARNING"})
        runner = ServiceRunner(settings, workdir)
        try:
            async with BusClient(settings, name="healer-fuzz") as bus:
                await bus.ensure_streams()
                runner.start(*SERVICES)
                await runner.wait_running(timeout=90)
                await campaign(args, runner, bus)
        finally:
            runner.stop_all()
            redis.stop()
            nats_server.stop()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inputs", type=int, default=10_000, help="generated inputs over NATS and HTTP")
    parser.add_argument("--nats-refusals", type=int, default=10, help="subjects too long for NATS, one connection each")
    parser.add_argument("--seed", type=int, default=18, help="the storm's random seed")
    sys.exit(asyncio.run(main(parser.parse_args())))
