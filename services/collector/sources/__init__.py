"""The collector's sources: one module per outside system, and the trackers of each Kubernetes kind."""
