"""`healer`, the umbrella command: run the embedded default, inspect, publish, approve, silence, analyse."""
