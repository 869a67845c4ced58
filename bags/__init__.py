"""Pure domain of multicart: carts, bags, order SKUs, order errors, money, splitting.

No I/O lives here: no HTTP, no database, no logging. Everything is plain data and functions,
so the rules can be tested in microseconds and reused by every outer layer.
"""
