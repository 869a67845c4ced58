"""The multicart benchmark: ``make bench`` (or ``python -m bench``) from the repository root.

Every component runs as its own process on loopback: the sandbox, ``multicart serve``, the bare
reference orchestrator (:mod:`bench.reference`) and the open-loop load generator
(:mod:`bench.loadgen`). :mod:`bench.run` runs the scenarios (:mod:`bench.scenarios`) against
the processes of :mod:`bench.stack`, :mod:`bench.httpstack` measures the outbound HTTP stack,
and :mod:`bench.report` writes the JSON file, the plot and BENCHMARKS.md. The fault-matrix soak
is :mod:`bench.soak`, the long memory run :mod:`bench.memory`.
"""
