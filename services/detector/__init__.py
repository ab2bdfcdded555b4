"""detector: turns the event stream into alerts from the catalogue (healer.events.> -> healer.alerts.<ID>)."""
