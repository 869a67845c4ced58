"""``python -m orchestrator.cli``: the same as the ``multicart`` command."""

from orchestrator.cli.main import main

main()
