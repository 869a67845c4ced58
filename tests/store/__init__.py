"""The store's tests: each store class against a migrated database, SQLite or PostgreSQL."""
