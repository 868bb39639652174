"""Synthetic source system: clients and their activity, deterministic for a seed."""
