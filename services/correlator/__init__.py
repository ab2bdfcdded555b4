"""correlator: groups alerts into incidents (healer.alerts.* -> healer.incidents.<state>)."""
