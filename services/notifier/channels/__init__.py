"""Delivery channels, one module per outside system, registered in catalogue.py (kind.py says what a module
provides): `wants(notification)` says whether the channel has anything to do with it, `send(notification)`
delivers it; raising Retryable means "try again later", Permanent "this will never be accepted". Pure message
shaping sits beside its adapter (slack_messages.py, github_issues.py); samples/ holds each system's documented
requests and answers.
"""

from __future__ import annotations

from pathlib import Path

SAMPLES = Path(__file__).parent / "samples"
"""Documented requests and answers of each outside system (see samples/README.md)."""
