"""The `multicart` command: serve the API, migrate the database, run the sandbox, make and
rotate keys, requeue dead letters. ``main`` and ``build_parser`` are its public surface; the
entry point is ``orchestrator.cli:main``, ``python -m orchestrator.cli`` runs the same.
"""

from orchestrator.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
