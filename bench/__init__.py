"""The multicart benchmark: ``make bench`` (or ``python -m bench``) from the repository root.

Every component runs as its own process on loopback: the sandbox, ``multicart serve``, the bare
reference orchestrator (:mod:`bench.reference`) and the open-loop load generator
(:mod:`bench.loadgen`). :mod:`bench.scenarios` drives them, :mod:`bench.httpstack` measures the
outbound HTTP stack, and :mod:`bench.report` writes the JSON file, the plot and BENCHMARKS.md.
"""
