"""Benchmarks (make bench): throughput per stage against plain COPY and to_sql, models, a real retail export."""
