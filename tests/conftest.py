"""Test-suite wiring: the harness in healer_common.testing starts real NATS, Redis and the Kubernetes emulator.

Two budgets: a unit test (no `integration` mark) gets UNIT_TIMEOUT_S, so a unit test that starts waiting on
something real fails at once instead of slowing the suite; an integration test gets the `timeout` of
pyproject.toml unless it sets its own. A test under tests/integration without the mark is a mistake in the file.
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
