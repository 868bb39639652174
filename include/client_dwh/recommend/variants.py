"""The recommender's variants: the one list the model, its evaluation, the warehouse tasks and the DAG's
``variant`` Param share (kept import-free so a DAG file can read it while parsing)."""

VARIANTS = ("hybrid", "collaborative", "content", "popularity")
