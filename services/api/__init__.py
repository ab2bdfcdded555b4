"""api: the read API and the web dashboard: what Healer sees and does, read from JetStream and Redis, served as
JSON (with an OpenAPI document), as live server-sent events, and as a page; approvals, acknowledgements and
silences go back through the bus."""
