"""SQL plumbing shared by the credit-bank stores (SQLite embedded, PostgreSQL for several nodes)."""
