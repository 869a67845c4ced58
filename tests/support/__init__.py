"""What the tests build on that production never imports."""
