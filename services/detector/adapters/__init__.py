"""What the detector says to the outside world: Redis stores of watches, baselines and firing series, and the
evaluation of each input against the rules.

The only modules of this service besides app.py and handlers.py that may import NATS, Redis, Kubernetes or HTTP
clients (import-linter checks it); the logic they call sits beside this folder and is tested alone.
"""
