"""A/B split, simulated responses and significance test for recommendation experiments.

Offline metrics only suggest a better model; the campaign team decides on conversion in an A/B
test. The split must be stable across DAG runs (a client never switches arms), hence a salted hash
rather than a random draw; the simulation lets the pipeline and tests exercise the analysis end to
end before real responses exist.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pandas as pd
from scipy import stats


def assign_variants(
    client_ids, experiment: str = "partner_reco_v1", treatment_share: float = 0.5
) -> pd.Series:
    """Deterministic 'A'/'B' per client from sha256(experiment + client_id); index = client_id.

    Changing ``experiment`` reshuffles clients, so consecutive experiments are independent.
    """
    ids = pd.Series(client_ids).astype(str).to_numpy()
    buckets = np.fromiter(
        (
            int.from_bytes(hashlib.sha256(f"{experiment}:{client_id}".encode()).digest()[:8], "big")
            for client_id in ids
        ),
        dtype=np.uint64,
        count=len(ids),
    )
    unit = buckets / float(2**64)
    return pd.Series(
        np.where(unit < treatment_share, "B", "A"), index=pd.Index(ids, name="client_id"), name="variant"
    )


def simulate_responses(
    recommendations: pd.DataFrame,
    liked: pd.DataFrame,
    seed: int = 0,
    base_rate: float = 0.03,
    response_per_liked_item: float = 0.08,
) -> pd.DataFrame:
    """Simulate whether each client responded to the recommendations shown to them.

    ``recommendations`` needs ``client_id, service_id, variant``; ``liked`` lists services the
    client truly likes (``client_id, service_id``, e.g. the held-out test items). Response
    probability = 1 - (1 - base_rate) * (1 - response_per_liked_item) ** n_liked_in_list, so a
    model that shows more liked services converts more. Returns ``client_id, variant, responded``.
    """
    return draw_responses(count_liked_shown(recommendations, liked), seed, base_rate, response_per_liked_item)


def count_liked_shown(recommendations: pd.DataFrame, liked: pd.DataFrame) -> pd.DataFrame:
    """``client_id, variant, n_liked`` (sorted): how many services shown to each client the client likes.

    Per client, so lists shown chunk by chunk can be counted chunk by chunk and the counts concatenated.
    """
    liked_pairs = liked[["client_id", "service_id"]].drop_duplicates().assign(_liked=1)
    shown = recommendations[["client_id", "service_id", "variant"]].merge(
        liked_pairs, on=["client_id", "service_id"], how="left"
    )
    return shown.groupby(["client_id", "variant"], sort=True)["_liked"].sum().rename("n_liked").reset_index()


def draw_responses(
    per_client: pd.DataFrame, seed: int = 0, base_rate: float = 0.03, response_per_liked_item: float = 0.08
) -> pd.DataFrame:
    """``simulate_responses``' draw from ``count_liked_shown``'s counts (one draw per row, in row order)."""
    rng = np.random.default_rng(seed)
    probability = (
        1.0 - (1.0 - base_rate) * (1.0 - response_per_liked_item) ** per_client["n_liked"].to_numpy()
    )
    per_client = per_client.assign(responded=rng.random(len(per_client)) < probability)
    return per_client[["client_id", "variant", "responded"]]


def compare_variants(
    responses: pd.DataFrame, control: str = "A", treatment: str = "B", alpha: float = 0.05
) -> dict:
    """Conversion per arm, uplift (treatment - control), its CI and a two-proportion z-test.

    The CI uses the unpooled normal approximation; the p-value the pooled-variance z statistic,
    which is the standard test of equal proportions.
    """
    grouped = responses.groupby("variant")["responded"].agg(["sum", "size"])
    conversions_a, n_a = (
        int(grouped.loc[control, c]) if control in grouped.index else 0 for c in ("sum", "size")
    )
    conversions_b, n_b = (
        int(grouped.loc[treatment, c]) if treatment in grouped.index else 0 for c in ("sum", "size")
    )
    if n_a == 0 or n_b == 0:
        raise ValueError("both variants need at least one client")
    rate_a, rate_b = conversions_a / n_a, conversions_b / n_b
    uplift = rate_b - rate_a
    z_critical = float(stats.norm.ppf(1 - alpha / 2))
    standard_error = math.sqrt(rate_a * (1 - rate_a) / n_a + rate_b * (1 - rate_b) / n_b)
    pooled = (conversions_a + conversions_b) / (n_a + n_b)
    pooled_error = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    z_score = uplift / pooled_error if pooled_error > 0 else 0.0
    p_value = float(2 * stats.norm.sf(abs(z_score)))
    return {
        "n_a": n_a,
        "n_b": n_b,
        "conversions_a": conversions_a,
        "conversions_b": conversions_b,
        "rate_a": rate_a,
        "rate_b": rate_b,
        "uplift_abs": uplift,
        "uplift_rel": uplift / rate_a if rate_a > 0 else math.nan,
        "ci_low": uplift - z_critical * standard_error,
        "ci_high": uplift + z_critical * standard_error,
        "z": z_score,
        "p_value": p_value,
        "significant": p_value < alpha,
    }
