"""The pure domain of the cloud classroom: plain decisions over frozen dataclasses, no I/O.

This package imports only the standard library (enforced by the import contracts in
pyproject.toml).
"""
