"""A local OpenMemory: a kmock HTTP peer that answers `/memory/*` in OpenMemory's documented shape
(../shared/openmemory.md §1-§3, HEAD), so memory-bridge's OpenMemory backend is tested over real HTTP.

It keeps memories in a dict and reproduces what the bridge must cope with: `x-api-key` or Bearer auth (401
without a key, 403 with a wrong one), 400 `invalid_input`, 404 `{err: "nf"}`, content stored as a 200-character
"essence" when longer, `deduplicated: true` for identical text (+0.15 salience), query scores that are
z-scores (a lone match scores 0), every query hit raising salience by 0.5, a `/memory/reinforce` that answers
`{ok: true}` and changes nothing (the SQLite bug at HEAD), and faults queued by the test (429 with
`retry_after`, 503). Install it on the `http_peer` fixture: `peer.handler << fake.respond`.
"""

from __future__ import annotations

import hashlib
import re
import statistics
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import kmock
from kmock._internal.rendering import Response  # kmock exports it at runtime but leaves it out of __all__

SECTORS = ("episodic", "semantic", "procedural", "emotional", "reflective")
SUMMARY_MAX = 200
_WORD = re.compile(r"[a-z0-9]+")


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def _essence(content: str) -> str:
    """What OpenMemory keeps of long content with OM_USE_SUMMARY_ONLY (its default)."""
    return content if len(content) <= SUMMARY_MAX else content[: SUMMARY_MAX - 3] + "..."


@dataclass
class FakeOpenMemory:
    api_key: str = "om-test-key"
    memories: dict[str, dict[str, Any]] = field(default_factory=dict)
    faults: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    def fail_next(self, status: int, body: dict[str, Any], times: int = 1) -> None:
        """Answer the next `times` requests with this error instead of serving them."""
        self.faults.extend([(status, body)] * times)

    def respond(self, request: kmock.Request) -> Response:
        if self.faults:
            status, body = self.faults.pop(0)
            return Response(status=status, payload=body)
        if (refusal := self._auth(request)) is not None:
            return refusal
        method, path = str(request.method.value).upper(), request.url.path
        if path == "/health":
            return self._ok({"ok": True, "version": "2.0-hsg-tiered", "tier": "hybrid", "dim": 1536})
        routes = {
            ("POST", "/memory/add"): self._add,
            ("POST", "/memory/query"): self._query,
            ("GET", "/memory/all"): self._all,
            ("POST", "/memory/reinforce"): self._reinforce,
        }
        if (route := routes.get((method, path))) is not None:
            return route(request)
        if path.startswith("/memory/") and method in ("GET", "PATCH", "DELETE"):
            return self._one(method, path.removeprefix("/memory/"), request)
        return Response(status=404, payload={"err": "nf"})

    def _auth(self, request: kmock.Request) -> Response | None:
        headers = {k.lower(): v for k, v in request.headers.items()}
        given = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not given:
            return Response(status=401, payload={"error": "authentication_required"})
        if given != self.api_key:
            return Response(status=403, payload={"error": "invalid_api_key"})
        return None

    @staticmethod
    def _ok(body: dict[str, Any]) -> Response:
        return Response(status=200, payload=body)

    @staticmethod
    def _invalid(details: str) -> Response:
        return Response(status=400, payload={"error": "invalid_input", "details": details})

    def _add(self, request: kmock.Request) -> Response:
        body = request.data or {}
        content = body.get("content")
        if not isinstance(content, str) or not 1 <= len(content) <= 200_000:
            return self._invalid("content: 1 to 200000 characters")
        simhash = hashlib.sha256(content.encode()).hexdigest()
        for memory in self.memories.values():
            if memory["simhash"] == simhash:
                memory["salience"] = min(1.0, memory["salience"] + 0.15)
                return self._ok(
                    {
                        "id": memory["id"],
                        "primary_sector": memory["primary_sector"],
                        "sectors": [],
                        "deduplicated": True,
                    }
                )
        metadata = body.get("metadata") or {}
        sector = metadata.get("sector") if metadata.get("sector") in SECTORS else "semantic"
        now = int(time.time() * 1000)
        memory_id = str(uuid.uuid4())
        self.memories[memory_id] = {
            "id": memory_id,
            "content": _essence(content),
            "tags": list(body.get("tags") or []),
            "metadata": metadata,
            "created_at": now,
            "updated_at": now,
            "last_seen_at": now,
            "salience": 0.4,
            "decay_lambda": 0.015,
            "primary_sector": sector,
            "version": 1,
            "user_id": "015c1de30879ea29",
            "simhash": simhash,
        }
        return self._ok({"id": memory_id, "primary_sector": sector, "sectors": [sector], "chunks": 1})

    def _query(self, request: kmock.Request) -> Response:
        body = request.data or {}
        query = body.get("query")
        k = body.get("k", 8)
        if not isinstance(query, str) or not 1 <= len(query) <= 8192 or not 1 <= k <= 200:
            return self._invalid("query: 1 to 8192 characters; k: 1 to 200")
        sector = (body.get("filters") or {}).get("sector")
        wanted = _words(query)
        scored = [
            (len(wanted & _words(m["content"] + " " + " ".join(m["tags"]))), m)
            for m in self.memories.values()
            if sector is None or m["primary_sector"] == sector
        ]
        scored.sort(key=lambda pair: (pair[0], pair[1]["created_at"]), reverse=True)
        top = scored[:k]
        raw = [float(s) for s, _ in top]
        mean, spread = (statistics.fmean(raw), statistics.pstdev(raw)) if raw else (0.0, 0.0)
        matches = []
        for s, memory in top:
            memory["salience"] = min(1.0, memory["salience"] + 0.5)  # every hit is reinforced, as at HEAD
            memory["last_seen_at"] = int(time.time() * 1000)
            matches.append(
                {
                    "id": memory["id"],
                    "content": memory["content"],
                    "score": (s - mean) / spread if spread else 0.0,
                    "sectors": [memory["primary_sector"]],
                    "primary_sector": memory["primary_sector"],
                    "path": [memory["id"]],
                    "salience": memory["salience"],
                    "last_seen_at": memory["last_seen_at"],
                }
            )
        return self._ok({"query": query, "matches": matches})

    def _public(self, memory: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in memory.items() if k != "simhash"}

    def _all(self, request: kmock.Request) -> Response:
        limit, offset = int(request.params.get("l", 100)), int(request.params.get("u", 0))
        sector = request.params.get("sector")
        items = sorted(
            (m for m in self.memories.values() if sector is None or m["primary_sector"] == sector),
            key=lambda m: m["created_at"],
            reverse=True,
        )
        return self._ok({"items": [self._public(m) for m in items[offset : offset + min(limit, 10_000)]]})

    def _reinforce(self, request: kmock.Request) -> Response:
        memory_id = (request.data or {}).get("id")
        if memory_id not in self.memories:
            return Response(status=404, payload={"err": "nf"})
        return self._ok({"ok": True})  # salience unchanged: the SQLite reinforcement bug at HEAD

    def _one(self, method: str, memory_id: str, request: kmock.Request) -> Response:
        memory = self.memories.get(memory_id)
        if memory is None:
            return Response(status=404, payload={"err": "nf"})
        if method == "GET":
            return self._ok({**self._public(memory), "sectors": [memory["primary_sector"]]})
        if method == "DELETE":
            del self.memories[memory_id]
            return self._ok({"ok": True})
        body = request.data or {}
        for key in ("tags", "metadata"):
            if key in body:
                memory[key] = body[key]
        if "content" in body:
            memory["content"] = _essence(body["content"])
        memory["updated_at"] = int(time.time() * 1000)
        return self._ok({"id": memory_id, "updated": True})
