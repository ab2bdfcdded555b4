"""Who may publish and subscribe what on NATS: one identity per service, limited to the subjects the bus table
says it publishes and reads, the CLI/API identity (people and the web/chat bridges: the only one besides the
remediator's approvals endpoint and the read API's write routes, each signing for a checked credential, that
may publish on `healer.approvals.>`), and the nightly analysis job.

    identity        publishes                                              reads (subscribes)
    collector       events.>                                               -
    detector        alerts.>, changes.>                                    its consumers of events
    correlator      incidents.>                                            its consumers of alerts, changes
    remediator      remediations.>, approvals.> (its HTTP API), memory.query,  incidents, approvals, playbook_runs
                    agents.report, events.agents.> (agent contention)
    notifier        acks.> (PagerDuty, HTTP acks)                          incidents, remediations, acks
    memory-bridge   alerts.H10, answers to memory.> requests               memory.>, and its consumers
    api             approvals.>, acks.> (its write routes), memory queries  everything (the dashboard's live feed)
    analyze         memory.add                                             history (ordered consumers)
    cli             everything under the root                              everything under the root

Every service also publishes its own `audit.<service>` and `dlq.<service>`, reads its answers on `_INBOX.>`, and
uses the JetStream API of Healer's streams only: stream info/create/update (each service keeps the streams
declared), its consumers, acks. Deleting or purging a stream is nobody's right here. `healer nats config`
renders these as a nats-server `accounts` block with one nkey user per identity. Pure data over a SubjectSpace.
"""

from __future__ import annotations

from dataclasses import dataclass

from healer_common.contract.streams import EVENTS, STREAMS
from healer_common.contract.subjects import SubjectSpace

SERVICE_IDENTITIES = ("collector", "detector", "correlator", "remediator", "notifier", "memory-bridge", "api")
IDENTITIES = (*SERVICE_IDENTITIES, "analyze", "cli")
INBOX = "_INBOX.>"
DESTRUCTIVE = ("$JS.API.STREAM.DELETE.>", "$JS.API.STREAM.PURGE.>", "$JS.API.STREAM.MSG.DELETE.>")


@dataclass(frozen=True)
class Permissions:
    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    deny_publish: tuple[str, ...] = DESTRUCTIVE
    respond: bool = False  # may answer requests (memory-bridge): publish on the reply subject it was given


def _jetstream(space: SubjectSpace, *, read_history: bool = False) -> tuple[str, ...]:
    """The JetStream API calls on Healer's own streams: keep them declared, run consumers, ack."""
    names = [spec.name(space) for spec in STREAMS]
    calls = ["$JS.API.INFO", "$JS.API.STREAM.NAMES"]
    for name in names:
        calls += [f"$JS.API.STREAM.{op}.{name}" for op in ("INFO", "CREATE", "UPDATE")]
        for op in ("CONSUMER.CREATE", "CONSUMER.DURABLE.CREATE", "CONSUMER.INFO", "CONSUMER.MSG.NEXT"):
            calls += [f"$JS.API.{op}.{name}", f"$JS.API.{op}.{name}.>"]
        if read_history:  # ordered consumers: flow control answers, and deleting their own consumer when done
            calls += [f"$JS.API.CONSUMER.DELETE.{name}.>", f"$JS.FC.{name}.>"]
        calls.append(f"$JS.ACK.{name}.>")
    return tuple(calls)


def _own(space: SubjectSpace, service: str) -> tuple[str, ...]:
    return space.audit(service), space.dlq(service)


def permissions(space: SubjectSpace) -> dict[str, Permissions]:
    """Every identity's rights under this installation's subject root."""
    root, js = space.root, _jetstream(space)
    publishes = {
        "collector": (space.all_events,),
        "detector": (
            f"{root}.alerts.>",
            f"{root}.changes.>",
            f"{root}.events.*.*.*",  # the intake republishes unpartitioned events into their partitions
            f"$JS.API.CONSUMER.DELETE.{EVENTS.name(space)}.>",  # a partition's cursor, moved to its checkpoint
        ),
        "correlator": (f"{root}.incidents.>",),
        "remediator": (
            f"{root}.remediations.>",
            f"{root}.approvals.>",
            space.memory_query,
            space.agents_report,
            space.events("agents", "condition"),
        ),
        "notifier": (f"{root}.acks.>",),
        "memory-bridge": (space.alerts("H10"),),
    }
    found = {
        name: Permissions(publish=(*subjects, *_own(space, name), *js), subscribe=(INBOX,))
        for name, subjects in publishes.items()
    }
    bridge = found["memory-bridge"]
    found["memory-bridge"] = Permissions(bridge.publish, (f"{root}.memory.>", INBOX), respond=True)
    found["api"] = Permissions(
        publish=(
            f"{root}.approvals.>",
            f"{root}.acks.>",
            space.memory_stats,
            space.memory_predict,
            *_own(space, "api"),
            *_jetstream(space, read_history=True),
        ),
        subscribe=(f"{root}.>", INBOX),
    )
    found["analyze"] = Permissions(
        publish=(space.memory_add, space.audit("cli"), *_jetstream(space, read_history=True)), subscribe=(INBOX,)
    )
    found["cli"] = Permissions(
        publish=(f"{root}.>", *_jetstream(space, read_history=True)), subscribe=(f"{root}.>", INBOX)
    )
    return found
