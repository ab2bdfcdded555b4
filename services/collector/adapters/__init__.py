"""What the collector says to the outside world: reading each cluster's sources and publishing what they saw.

The only modules of this service besides app.py and handlers.py that may import NATS, Redis, Kubernetes or HTTP
clients (import-linter checks it); the logic they call sits beside this folder and is tested alone.
"""
