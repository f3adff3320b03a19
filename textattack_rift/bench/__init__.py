"""Benchmarks behind ``textattack-rift bench``: ratios measured within one run (machines are noisy)."""
