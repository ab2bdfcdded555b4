"""A watch stream is newline-delimited JSON that arrives in chunks of any size."""

from __future__ import annotations

import json

from services.collector.sources.kube_watch import json_lines


def test_a_watch_stream_is_read_event_by_event_whatever_its_chunks() -> None:
    events = [{"type": "ADDED", "object": {"metadata": {"name": "a"}}}, {"type": "MODIFIED", "object": {}}]
    body = b"".join(json.dumps(e).encode() + b"\n" for e in events)

    for size in (1, 7, len(body)):
        chunks = [body[i : i + size] for i in range(0, len(body), size)]
        assert [e["type"] for e in json_lines(chunks)] == ["ADDED", "MODIFIED"]
