"""The mapping threshold's default and allowed range, importable without numpy or sklearn (DAG Params)."""

# Calibrated from the catalogue's own spread: distances are root-mean-square differences in declared
# spreads (see ``mapping``), so 1.0 assigns a client whose features are, on a weighted average, within one
# typical within-portrait variation of the prototype. Checked on held-out clients drawn independently of
# our generator (tests/independent_clients.py, curve in the README: `make portrait-curve`): 99.6 % right at
# 20 % noise, 94.7 % at 30 %, 99.3 % / 93.2 % with app and coffee as 0/1 flags, 99.8 % of far outliers
# left unassigned.
DEFAULT_THRESHOLD = 1.0
# Below 0.1 nobody is assigned, above 10 everyone is.
MIN_THRESHOLD, MAX_THRESHOLD = 0.1, 10.0
