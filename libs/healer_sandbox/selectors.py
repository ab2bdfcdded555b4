"""Label and field selectors as the API server understands them (`?labelSelector=app=web,tier!=db`,
`?fieldSelector=spec.nodeName=node-1`), parsed once per request and matched against stored objects.

Label selectors support equality (`=`, `==`, `!=`), sets (`in (a,b)`, `notin (a,b)`) and existence (`key`,
`!key`); field selectors support `=`, `==`, `!=` on any dotted path (`metadata.name`, `status.phase`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Matcher = Callable[[Mapping[str, Any]], bool]

_SET_TERM = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_EQ_TERM = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s*(==|!=|=)\s*([A-Za-z0-9_./-]*)\s*$")
_EXISTS_TERM = re.compile(r"^\s*(!?)([A-Za-z0-9_./-]+)\s*$")


class SelectorError(ValueError):
    """A selector the API server would reject with 400 Bad Request."""


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not inside `in (...)` parentheses."""
    terms, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    terms.append(current)
    return [t for t in terms if t.strip()]


def _label_term(term: str) -> Callable[[Mapping[str, str]], bool]:
    if match := _SET_TERM.match(term):
        key, op, raw = match.groups()
        values = {v.strip() for v in raw.split(",") if v.strip()}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if match := _EQ_TERM.match(term):
        key, op, value = match.groups()
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if match := _EXISTS_TERM.match(term):
        negated, key = match.groups()
        if negated:
            return lambda labels: key not in labels
        return lambda labels: key in labels
    raise SelectorError(f"unable to parse requirement {term.strip()!r}")


def label_matcher(text: str | None) -> Matcher:
    """A predicate on objects for a label selector; an empty selector matches everything."""
    terms = [_label_term(t) for t in _split_terms(text or "")]

    def matches(obj: Mapping[str, Any]) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(term(labels) for term in terms)

    return matches


def field_value(obj: Mapping[str, Any], path: str) -> str:
    """The value at a dotted path as the API server compares it (a string; missing is empty)."""
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, Mapping):
            return ""
        current = current.get(part)
    if current is None:
        return ""
    if isinstance(current, bool):
        return "true" if current else "false"
    return str(current)


def field_matcher(text: str | None) -> Matcher:
    """A predicate on objects for a field selector; an empty selector matches everything."""
    terms: list[tuple[str, bool, str]] = []
    for term in _split_terms(text or ""):
        match = _EQ_TERM.match(term)
        if not match:
            raise SelectorError(f"invalid field selector {term.strip()!r}: use path=value or path!=value")
        path, op, value = match.groups()
        terms.append((path, op != "!=", value))

    def matches(obj: Mapping[str, Any]) -> bool:
        return all((field_value(obj, path) == value) == equal for path, equal, value in terms)

    return matches


def selector_from_match_labels(match_labels: Mapping[str, str]) -> str:
    """The label selector string of a `matchLabels` map (what a ReplicaSet's status.selector shows)."""
    return ",".join(f"{k}={v}" for k, v in sorted(match_labels.items()))
