"""The warehouse, layer by layer: connection (db), DDL, staging, core, marts."""
