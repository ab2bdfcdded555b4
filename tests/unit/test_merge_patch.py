"""A rollback's template patch must turn the current template into the old one exactly, as a JSON patch
`replace` would, or a real API server would keep fields the old revision never had."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from services.remediator.merge_patch import apply_merge_patch, merge_patch

_leaves = st.one_of(st.booleans(), st.integers(-3, 3), st.text(max_size=4), st.lists(st.integers(0, 3), max_size=3))
_trees = st.recursive(_leaves, lambda inner: st.dictionaries(st.sampled_from("abcd"), inner, max_size=4), max_leaves=12)
_objects = st.dictionaries(st.sampled_from(["spec", "metadata", "containers", "env"]), _trees, max_size=4)


@given(current=_objects, target=_objects)
def test_applying_the_patch_yields_the_target_exactly(current: dict[str, Any], target: dict[str, Any]) -> None:
    assert apply_merge_patch(current, merge_patch(current, target)) == target


def test_fields_the_old_template_lacks_are_removed_and_lists_are_replaced_whole() -> None:
    current = {"spec": {"containers": [{"name": "app", "image": "app:2"}], "priorityClassName": "high"}}
    old = {"spec": {"containers": [{"name": "app", "image": "app:1"}]}}

    assert merge_patch(current, old) == {
        "spec": {"containers": [{"name": "app", "image": "app:1"}], "priorityClassName": None}
    }
