"""File formats of real sources (retail export columns, partner catalogue text, CRM cleaning), shared by imports and the generator."""
