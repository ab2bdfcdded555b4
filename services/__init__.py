"""Healer's six services; each is its own process and talks to the others only through NATS."""
