"""Sleep-time analysis: patterns mined from history between incidents (`healer analyze`, memory-bridge when
idle, the healer-analyze CronJob), reported as JSON and stored as insights in memory."""
