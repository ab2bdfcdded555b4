"""Test-suite wiring: the harness in healer_common.testing starts real NATS, Redis and the Kubernetes emulator."""

pytest_plugins = ["healer_common.testing"]
