"""Hash-only audits of a brought model's Engram tables: read maps, censuses and storage, no weights needed."""
