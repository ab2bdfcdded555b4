"""memory-bridge: the only service that talks to long-term memory; stores outcomes, answers queries."""
