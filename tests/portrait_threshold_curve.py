"""Print the portrait mapping's calibration curve on independently drawn clients (a Markdown table).

Run with ``make portrait-curve`` (or ``PYTHONPATH=include python tests/portrait_threshold_curve.py``): for
each candidate threshold, accuracy at 10/20/30 % noise (also with app and coffee as 0/1 flags) and the share
of far outliers left unassigned; then the default threshold on single-portrait files and tiny files.
Held-out seeds: the unit tests use other ones.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from independent_clients import FLAG_FEATURES, draw_clients  # noqa: E402

from client_dwh.portraits.catalogue import UNASSIGNED, load_portraits  # noqa: E402
from client_dwh.portraits.mapping import PortraitMapper  # noqa: E402
from client_dwh.portraits.quality import threshold_curve  # noqa: E402
from client_dwh.portraits.threshold import DEFAULT_THRESHOLD  # noqa: E402

CLIENTS = 20_000
SEED = 1_000
THRESHOLDS = [0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.6]
SETTINGS = [(0.1, ()), (0.2, ()), (0.3, ()), (0.2, FLAG_FEATURES), (0.3, FLAG_FEATURES)]


def accuracy(assignments, truth) -> float:
    return float((assignments["portrait_id"].to_numpy() == truth.to_numpy()).mean())


def main() -> None:
    catalogue = load_portraits()
    mapper = PortraitMapper(catalogue)
    curves, outliers = [], []
    for number, (noise, flags) in enumerate(SETTINGS):
        clients = draw_clients(CLIENTS, noise, SEED + number, flags=flags)
        curve = threshold_curve(mapper.assign(clients), clients["true_portrait"], THRESHOLDS)
        curves.append([point["accuracy"] for point in curve])
        outliers.append([point["outliers_caught_share"] for point in curve])
    names = [f"{round(100 * noise)} %{' flags' if flags else ''}" for noise, flags in SETTINGS]
    print("| threshold | " + " | ".join(f"accuracy {name}" for name in names) + " | outliers caught |")
    print("|---" * (len(names) + 2) + "|")
    for column, threshold in enumerate(THRESHOLDS):
        cells = [f"{100 * curve[column]:.1f}" for curve in curves]
        caught = min(share[column] for share in outliers)
        mark = " **(default)**" if threshold == DEFAULT_THRESHOLD else ""
        print(f"| {threshold:g}{mark} | " + " | ".join(cells) + f" | {100 * caught:.1f} |")

    print("\nDefault threshold, files of one kind of client (1,000 clients, 20 % noise, no outliers):")
    print("| portrait | right | unassigned |")
    print("|---|---|---|")
    for number, portrait_id in enumerate(catalogue.ids):
        clients = draw_clients(1_000, 0.2, SEED + 100 + number, outlier_share=0, portrait=portrait_id)
        assigned = mapper.assign(clients)
        unassigned = float((assigned["portrait_id"] == UNASSIGNED).mean())
        print(f"| {portrait_id} | {100 * accuracy(assigned, clients['true_portrait']):.1f} % "
              f"| {100 * unassigned:.1f} % |")  # fmt: skip

    print("\nDefault threshold, tiny files at 20 % noise (500 files each, outliers excluded):")
    for rows in (1, 5, 20):
        right = total = 0
        for file_number in range(500):
            clients = draw_clients(rows, 0.2, SEED + 10_000 * rows + file_number, outlier_share=0)
            right += int((mapper.assign(clients)["portrait_id"] == clients["true_portrait"]).sum())
            total += rows
        print(f"  {rows:>2} rows: {100 * right / total:.1f} % right")


if __name__ == "__main__":
    main()
