"""The mapping threshold's default and allowed range, importable without numpy or sklearn (DAG Params)."""

# Calibrated with the default generator noise on 200 000 clients (seed 7): 99.9 % of portrait-drawn clients
# map to their true portrait within it and 99.9 % of outliers lie beyond it (``bench.calibrate_threshold``).
DEFAULT_THRESHOLD = 1.6
# Distances are in population standard deviations: below 0.1 nobody is assigned, above 10 everyone is.
MIN_THRESHOLD, MAX_THRESHOLD = 0.1, 10.0
