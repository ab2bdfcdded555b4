"""What the API says to the outside world: JetStream and Redis read back (reads.py), the bus and Redis written
to on a person's behalf (writes.py), live streams (live.py) and the HTTP plumbing (http.py)."""
