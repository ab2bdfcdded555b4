"""remediator: heals what is safe to heal (healer.incidents.* -> actions on the cluster -> healer.remediations.*)."""
