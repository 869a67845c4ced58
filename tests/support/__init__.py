"""What the tests, the benchmark and ``make demo`` build on that production never imports."""
