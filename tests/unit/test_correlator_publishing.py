"""What goes out when an incident's time comes: its first revision opened, later ones updated, each carrying
what changed since the one before and the counts, within its limits; and nothing at all when only its
surroundings were looked at again and nothing changed.
"""

from __future__ import annotations

import datetime as dt

from healer_common.contract.alerts import Alert
from healer_common.contract.incidents import Incident
from services.correlator.causes import RankingInputs
from services.correlator.cooccurrence import NO_LINKS, LinkThresholds
from services.correlator.grouping import group_for
from services.correlator.notify_timing import NotifyState, NotifyTiming
from services.correlator.publishing import publication, timed_parts
from services.correlator.revision import DEFAULT_LIMITS, Limits, Surroundings, apply_alert, publishable
from tests.support.correlator_samples import POLICY, at, pod_alert
from tests.support.samples import T0

AROUND = Surroundings([], [], {}, RankingInputs([], NO_LINKS, LinkThresholds(), dt.timedelta(minutes=30)), {})
TIMING = NotifyTiming(dt.timedelta(0), dt.timedelta(minutes=5), dt.timedelta(hours=4))


def holding(alerts: list[Alert], limits: Limits = DEFAULT_LIMITS) -> Incident:
    incident = None
    for one in alerts:
        incident = apply_alert(incident, one, group_for(one.labels, one.cluster, POLICY), one.starts_at, "", limits)
    assert incident is not None
    return incident


def pods(count: int, **labels: str) -> list[Alert]:
    alerts = [pod_alert(f"p{i}", starts_at=at(i / 60)) for i in range(count)]
    return [a.evolve(labels={**a.labels, **labels}) for a in alerts]


def test_a_small_incident_carries_every_alert_the_counts_and_what_changed() -> None:
    revision = publishable(holding(pods(3)), at(1), first=True)

    assert (revision.state, revision.revision) == ("opened", 1)
    assert len(revision.alerts) == revision.alert_count == revision.firing_count == revision.changed_count == 3
    assert revision.changed == [a.fingerprint for a in reversed(revision.alerts)], "newest first"


def test_a_big_incident_carries_its_primary_and_newest_changes_and_counts_the_rest() -> None:
    incident = holding(pods(150))

    revision = publishable(incident, at(3), first=True, limits=Limits(revision_alerts=100))

    assert (revision.alert_count, revision.changed_count, len(revision.changed)) == (150, 150, 150)
    assert len(revision.alerts) == 100
    assert incident.primary in revision.alerts
    newest = {a.fingerprint for a in sorted(incident.alerts, key=lambda a: a.starts_at)[-99:]}
    assert {a.fingerprint for a in revision.alerts} - {incident.primary.fingerprint} == newest


def test_a_revision_keeps_to_its_byte_budget_and_label_values_are_cut() -> None:
    limits = Limits(revision_bytes=32_768, value_chars=1_024)
    incident = holding(pods(60, blob="x" * 8_192), limits)

    revision = publishable(incident, at(3), first=True, limits=limits)

    assert len(revision.model_dump_json()) <= limits.revision_bytes
    assert 0 < len(revision.alerts) < 60
    assert revision.alert_count == 60
    assert all(len(a.labels["blob"]) == 1_024 and a.labels["blob"].endswith("…") for a in incident.alerts)


def test_later_revisions_are_updates_carrying_only_what_changed_since() -> None:
    first = publication(holding(pods(2)), NotifyState(opened_at=T0), AROUND, timing=TIMING, limits=Limits(), now=at(1))
    assert first.revision is not None
    assert first.stored.changed == []
    more = apply_alert(first.stored, pod_alert("late", starts_at=at(2)), group_for({}, "default", POLICY), at(2))
    assert more is not None

    second = publication(more, first.state, AROUND, timing=TIMING, limits=Limits(), now=at(7))

    assert second.revision is not None
    assert (second.revision.state, second.revision.revision) == ("updated", 2)
    assert second.revision.changed_count == 1
    assert [a.resource.name for a in second.revision.changed_alerts if a.resource] == ["late"]


def test_looking_again_at_an_incident_that_nothing_changed_publishes_nothing() -> None:
    first = publication(holding(pods(2)), NotifyState(opened_at=T0), AROUND, timing=TIMING, limits=Limits(), now=at(1))
    recheck = first.state.model_copy(update={"recheck": True})

    again = publication(first.stored, recheck, AROUND, timing=TIMING, limits=Limits(), now=at(7))

    assert again.revision is None
    assert again.state.recheck is False


class Clock:
    """Time that moves on by `step` each time a part is cut (its revisions derived meanwhile)."""

    def __init__(self, start: dt.datetime, step: dt.timedelta) -> None:
        self.now, self.step = start, step

    def __call__(self) -> dt.datetime:
        now, self.now = self.now, self.now + self.step
        return now


def test_a_waves_parts_go_out_at_their_own_times_never_before_them_nor_before_they_could() -> None:
    """Overdue revisions go out together when cut; those derived ahead carry the time they fall due, each
    cluster its own, not the time of the first nor of the last; a part holds at most `size`."""
    soon, later = at(0) + dt.timedelta(seconds=0.3), at(0) + dt.timedelta(seconds=0.31)
    due = [(at(-1), "late-1"), (at(-0.5), "late-2"), (soon, "a"), (soon, "b"), (soon, "c"), (later, "d")]
    parts = list(timed_parts(due, Clock(at(0), dt.timedelta(seconds=0.05)), 2))
    assert parts == [(at(0), ["late-1", "late-2"]), (soon, ["a", "b"]), (soon, ["c"]), (later, ["d"])]


def test_a_part_cut_after_its_time_carries_the_time_it_was_cut() -> None:
    """Deriving the parts before took longer than the gap to this one: it is dated when it goes out, so its
    next revision falls due a whole interval after it was told."""
    due = [(at(0), "a"), (at(0) + dt.timedelta(seconds=0.01), "b")]
    parts = list(timed_parts(due, Clock(at(0), dt.timedelta(seconds=0.2)), 1))
    assert parts == [(at(0), ["a"]), (at(0) + dt.timedelta(seconds=0.2), ["b"])]
