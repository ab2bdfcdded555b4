"""What the notifier says to the outside world: delivery, its Redis journal, incident book, sent log and escalation
timers, the digest job and the per-input flow.

The only modules of this service besides app.py and handlers.py that may import NATS, Redis, Kubernetes or HTTP
clients (import-linter checks it); the logic they call sits beside this folder and is tested alone.
"""
