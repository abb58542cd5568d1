"""The digital-factory training line: scenario, authoritative state, commands, simulation, patches.

Pure: frozen dataclasses and functions, no I/O. The server owns one state per lesson and
broadcasts the patches these functions produce (docs/scenarios.md, docs/protocol.md).
"""
