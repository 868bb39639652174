"""Core -> marts: rebuilt into ``mart_next``, checked, then published into ``mart``."""
