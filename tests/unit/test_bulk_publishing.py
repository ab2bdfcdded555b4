"""Publishing many messages at once keeps each key's messages in the order given: an alert's firing before its
resolution, an incident's revisions one after another; different keys go out together."""

from __future__ import annotations

from healer_common.contract.messages import Message
from healer_common.runtime.publishing import waves


def message(key: str, n: int) -> Message:
    return Message(event_id=f"{key}-{n}", correlation_id=key)


def test_the_nth_message_of_each_key_goes_out_in_the_nth_wave() -> None:
    sent = [message("a", 1), message("b", 1), message("a", 2), message("c", 1), message("a", 3), message("b", 2)]

    found = [[m.event_id for m in wave] for wave in waves(sent)]

    assert found == [["a-1", "b-1", "c-1"], ["a-2", "b-2"], ["a-3"]]


def test_messages_without_a_correlation_id_are_keyed_by_their_own_id() -> None:
    sent = [Message(event_id=f"audit-{n}") for n in range(4)]

    assert len(waves(sent)) == 1
