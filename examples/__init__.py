"""Runnable client examples of multicart; the tests run them too."""
