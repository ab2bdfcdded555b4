"""What the memory-bridge says to the outside world: the memory stores (embedded SQLite, OpenMemory over HTTP), the
idle-time analysis runner reading history off the bus.

The only modules of this service besides app.py and handlers.py that may import NATS, Redis, Kubernetes or HTTP
clients (import-linter checks it); the logic they call sits beside this folder and is tested alone.
"""
