"""The simulators tested against their platforms' docs and specs, with faults, the control
API, the registry of platforms and the ``python -m sandbox`` process."""
