"""collector: reads what a cluster and its tools say, and publishes typed events on healer.events.>."""
