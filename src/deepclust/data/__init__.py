"""Datasets: a registry by name, the embedded defaults, and (later) the benchmark loaders."""
