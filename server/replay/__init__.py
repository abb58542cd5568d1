"""Replay: every live lesson recorded, its recordings' store and timeline, the replay use
cases and API."""
