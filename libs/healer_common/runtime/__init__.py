"""What a running Healer process uses: the bus and its runner, Redis state, HTTP, logging, tracing, servers."""
