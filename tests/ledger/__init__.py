"""Tests of the credit ledger: the pure chain, the store on both engines, checkpoints, the CLI."""
