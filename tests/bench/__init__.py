"""The benchmark's parts on their own (load generator, search, figures, report) and tiny runs."""
