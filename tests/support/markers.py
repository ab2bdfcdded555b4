"""Marks shared by integration tests.

WHOLE_SYSTEM: a test that runs the whole system (the sandbox cluster, replicas on a NATS cluster, a browser)
against a time budget a user would notice (H1-H9 within five minutes, a heal within ten). `make test` runs the
suite on both cores (pytest-xdist, `--dist loadgroup`); these tests share one worker, one after another, so two
of them never compete for the same two cores while the lighter tests fill the other worker.
"""

from __future__ import annotations

import pytest

WHOLE_SYSTEM = pytest.mark.xdist_group("whole-system")
