"""Which memories an answer carries, and in what order: the seed's selection score.

    relevance  = 0.6 · cosine of the embeddings + 0.25 · share of the question's words in the memory
                 + 0.15 · share of the question's namespace / service / alert type it matches
                 (without any of those three, the first two are rescaled to fill 0-1)
    recency    = 0.5 ^ (age in days / 7)
    success    = (1 + successes) / (2 + outcomes) of the memory's method on its alert type among the
                 candidates (0.5 for memories that are not outcomes)
    score      = 0.4 · relevance + 0.3 · recency + 0.3 · success

Only memories at or above the salience floor are candidates (the backends filter; decay.py), and only those
at least `min_relevance` relevant are kept, so a question about nothing remembered gets nothing. Pure.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from healer_common.contract.memory import MemoryMatch, MemoryQuery, MemoryRecord
from services.memory_bridge.backend import Candidate
from services.memory_bridge.embedding import overlap, tokens
from services.memory_bridge.occurrences import workload_of

RELEVANCE, RECENCY, SUCCESS = 0.4, 0.3, 0.3
RECENCY_HALF_LIFE_DAYS = 7.0


def context_match(question: MemoryQuery, record: MemoryRecord) -> float | None:
    """The share of the question's namespace, service and alert type the memory shares (None: none asked)."""
    meta = record.metadata
    asked = [
        (question.namespace, meta.namespace),
        (workload_of(question.service), workload_of(meta.service)),
        (question.alert_type, meta.alert_type),
    ]
    asked = [(want, have) for want, have in asked if want]
    if not asked:
        return None
    return sum(1 for want, have in asked if want == have) / len(asked)


def relevance(question: MemoryQuery, words: list[str], candidate: Candidate) -> float:
    record = candidate.record
    lexical = overlap(words, " ".join([record.content, *record.tags]))
    context = context_match(question, record)
    if context is None:
        return min(1.0, (0.6 * candidate.similarity + 0.25 * lexical) / 0.85)
    return min(1.0, 0.6 * candidate.similarity + 0.25 * lexical + 0.15 * context)


def recency(record: MemoryRecord, now: dt.datetime) -> float:
    age_days = max(0.0, (now - record.created_at).total_seconds() / 86_400)
    return float(0.5 ** (age_days / RECENCY_HALF_LIFE_DAYS))


def _method_key(record: MemoryRecord) -> tuple[str | None, str] | None:
    meta = record.metadata
    return (meta.alert_type, meta.method) if meta.method and meta.success is not None else None


def success_rates(records: list[MemoryRecord]) -> dict[tuple[str | None, str], float]:
    """Laplace-smoothed success rate of each (alert type, method) among the records with a verdict."""
    wins: Counter[tuple[str | None, str]] = Counter()
    tries: Counter[tuple[str | None, str]] = Counter()
    for record in records:
        if (key := _method_key(record)) is not None:
            tries[key] += 1
            wins[key] += bool(record.metadata.success)
    return {key: (1 + wins[key]) / (2 + tries[key]) for key in tries}


def select(
    question: MemoryQuery, candidates: list[Candidate], now: dt.datetime, min_relevance: float
) -> list[MemoryMatch]:
    """The question's matches, best selection score first, at most `question.limit`."""
    words = tokens(question.text)
    rates = success_rates([c.record for c in candidates])
    matches = []
    for candidate in candidates:
        relevant = relevance(question, words, candidate)
        if relevant < min_relevance:
            continue
        key = _method_key(candidate.record)
        success = rates[key] if key is not None else 0.5
        score = RELEVANCE * relevant + RECENCY * recency(candidate.record, now) + SUCCESS * success
        matches.append(MemoryMatch(record=candidate.record, relevance=relevant, score=score))
    matches.sort(key=lambda m: m.score, reverse=True)
    return matches[: question.limit]
