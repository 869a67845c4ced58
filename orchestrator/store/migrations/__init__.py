"""Alembic migrations of the multicart schema (run them with ``orchestrator.db.upgrade``)."""
