"""What the correlator says to the outside world: Redis stores of incidents, links, changes and inhibitors, and the
per-input work that loads, decides and publishes.

The only modules of this service besides app.py and handlers.py that may import NATS, Redis, Kubernetes or HTTP
clients (import-linter checks it); the logic they call sits beside this folder and is tested alone.
"""
