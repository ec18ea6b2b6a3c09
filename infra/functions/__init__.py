"""The code that gets deployed: the probe, the naive and optimized variants, a fault injector.

Each function folder is zipped as-is together with :mod:`coldbench_probe` (the drop-in
probe), so the same zip runs on AWS and in the local Lambda.
"""
