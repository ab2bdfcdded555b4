"""notifier: tells people and systems what Healer saw and did (incidents and remediations -> channels)."""
