"""Alembic migrations of the multicart schema (run by ``orchestrator.store.migrate.upgrade``)."""
