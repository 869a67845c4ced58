"""The fault-matrix soak: its counting rules, its verdict, and its short run in ``make test``."""
