"""The fault-matrix soak (``make soak``, ``python -m bench.soak``) over real processes.

:mod:`bench.soak.run` drives one engine's phases; :mod:`bench.soak.stack` owns its processes,
:mod:`bench.soak.traffic` sends the clients' requests, :mod:`bench.soak.faults` schedules the
sandbox's faults, :mod:`bench.soak.audit` counts the invariant and :mod:`bench.soak.report`
turns it all into figures and a verdict.
"""
