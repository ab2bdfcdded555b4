"""JSON merge patches (RFC 7386) that turn one object into another exactly: what `kubectl rollout undo` does
with a JSON-patch `replace`, in the one patch form every API server (and the test emulator) accepts.
"""

from __future__ import annotations

from typing import Any


def merge_patch(current: Any, target: Any) -> Any:
    """The patch that makes `current` equal `target`: removed keys become null, lists are replaced whole."""
    if not (isinstance(current, dict) and isinstance(target, dict)):
        return target
    patch: dict[str, Any] = {key: None for key in current if key not in target}
    for key, value in target.items():
        if key not in current:
            patch[key] = value
        elif current[key] != value:
            patch[key] = merge_patch(current[key], value)
    return patch


def apply_merge_patch(current: Any, patch: Any) -> Any:
    """RFC 7386's apply, as the API server does it (null deletes a key)."""
    if not isinstance(patch, dict):
        return patch
    result = dict(current) if isinstance(current, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result
