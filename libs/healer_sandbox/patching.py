"""The three patch formats of the Kubernetes API, applied to plain dicts.

- JSON merge patch (RFC 7386, `application/merge-patch+json`): dicts merge, `null` removes, lists replace.
- Strategic merge patch (`application/strategic-merge-patch+json`, built-in kinds only): like a merge patch,
  but lists of objects merge by their key (`name` for containers, env, volumes, ports; `type` for conditions;
  `uid` for ownerReferences), and `$patch: replace` / `$patch: delete` directives are honoured. This is what
  `kubectl patch`, `kubectl cordon` and the Python client send for a dict body.
- JSON patch (RFC 6902, `application/json-patch+json`): a list of operations, via `jsonpatch`.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch

MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"

MERGE_KEYS = ("name", "type", "uid", "mountPath", "containerPort", "key", "ip")
_DIRECTIVE_PREFIXES = ("$setElementOrder/", "$retainKeys", "$deleteFromPrimitiveList/")


class PatchError(ValueError):
    """A patch that cannot be applied: the API server answers 422 (or 415 for an unsupported type)."""

    def __init__(self, message: str, *, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: the patched copy of `target`."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _merge_key(items: list[Any]) -> str | None:
    """The key that identifies the items of a list of objects, or None when it must be replaced whole."""
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    for key in MERGE_KEYS:
        if all(key in i for i in items):
            return key
    return None


def _strategic_list(target: Any, patch: list[Any]) -> list[Any]:
    key = _merge_key(patch)
    if key is None or not isinstance(target, list):
        return [strategic_merge({}, item) if isinstance(item, dict) else item for item in patch]
    result = [copy.deepcopy(item) for item in target]
    for item in patch:
        index = next((i for i, old in enumerate(result) if isinstance(old, dict) and old.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
        elif index is None:
            result.append(strategic_merge({}, item))
        else:
            result[index] = strategic_merge(result[index], item)
    return result


def strategic_merge(target: Any, patch: Any) -> Any:
    """A strategic merge patch over `target`, returning the patched copy."""
    if isinstance(patch, list):
        return _strategic_list(target, patch)
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: strategic_merge({}, v) for k, v in patch.items() if k != "$patch"}
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key == "$patch" or key.startswith(_DIRECTIVE_PREFIXES):
            continue
        if value is None:
            result.pop(key, None)
        else:
            result[key] = strategic_merge(result.get(key), value)
    return result


def json_patch(target: dict[str, Any], operations: Any) -> dict[str, Any]:
    """RFC 6902 operations applied to a copy of `target`."""
    if not isinstance(operations, list):
        raise PatchError("a JSON patch is a list of operations")
    try:
        patched: dict[str, Any] = jsonpatch.apply_patch(target, operations, in_place=False)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, KeyError, TypeError) as exc:
        raise PatchError(f"the JSON patch cannot be applied: {exc}") from None
    return patched


def apply_patch(target: dict[str, Any], patch: Any, content_type: str, *, builtin: bool) -> dict[str, Any]:
    """Apply a PATCH body as its Content-Type says; raises PatchError with the status the API server gives."""
    kind = content_type.split(";", maxsplit=1)[0].strip().lower()
    if kind == JSON_PATCH:
        return json_patch(target, patch)
    if not isinstance(patch, dict):
        raise PatchError(f"a {kind} body must be a JSON object")
    if kind == MERGE:
        result: dict[str, Any] = merge_patch(target, patch)
        return result
    if kind == STRATEGIC:
        if not builtin:
            raise PatchError("strategic merge patch is not supported for custom resources; use merge-patch", status=415)
        patched: dict[str, Any] = strategic_merge(target, patch)
        return patched
    if kind == APPLY:
        raise PatchError("server-side apply is not supported by the sandbox; use a merge patch", status=415)
    raise PatchError(f"the content type {kind!r} is not a patch type", status=415)
