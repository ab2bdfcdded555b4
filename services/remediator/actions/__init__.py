"""Actions on the cluster, one module each; each returns the RemediationStep it took (or would take)."""
