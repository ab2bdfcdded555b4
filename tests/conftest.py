"""Test-suite wiring: the harness in healer_common.testing starts real NATS, Redis and the Kubernetes emulator.

Two budgets: a unit test (no `integration` mark) gets UNIT_TIMEOUT_S, so a unit test that starts waiting on
something real fails at once instead of slowing the suite; an integration test gets the `timeout` of
pyproject.toml unless it sets its own. A test under tests/integration without the mark is a mistake in the file.

The whole-system tests share one xdist worker (tests/support/markers.py). pytest-xdist marks that by a suffix on
each test's node id, which a pytest release can silently undo (9.2 did): the tests then compete for both cores
and miss their time budgets at random. A grouped test without its suffix fails at setup, saying so.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["healer_common.testing"]
UNIT_TIMEOUT_S = 10.0
INTEGRATION = Path(__file__).parent / "integration"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        integration = item.get_closest_marker("integration") is not None
        if item.path.is_relative_to(INTEGRATION) and not integration:
            raise pytest.UsageError(f"{item.nodeid}: tests under tests/integration carry pytest.mark.integration")
        if not integration and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(UNIT_TIMEOUT_S))


def pytest_runtest_setup(item: pytest.Item) -> None:
    grouping = bool(getattr(item.config.option, "loadgroup", False))  # an xdist worker under --dist loadgroup
    if grouping and item.get_closest_marker("xdist_group") and "@" not in item.nodeid:
        pytest.fail(
            f"pytest-xdist did not put this test in its xdist_group under pytest {pytest.__version__}, so it would"
            " compete with the other whole-system tests for both cores: pin a pytest that keeps the group in"
            " pyproject.toml and constraints.txt",
            pytrace=False,
        )
