"""What the remediator says to the outside world: the cluster, Redis and bus sides of a run: admission, execution,
coordination, records, approvals over HTTP, playbook sources.

The only modules of this service besides app.py and handlers.py that may import NATS, Redis, Kubernetes or HTTP
clients (import-linter checks it); the logic they call sits beside this folder and is tested alone.
"""
