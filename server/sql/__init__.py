"""SQL plumbing shared by every store: the Database port (SQLite embedded, PostgreSQL for several
nodes) and versioned migrations."""
