"""Developer tools outside the product: embedded PostgreSQL, headless runs, benchmarks."""
