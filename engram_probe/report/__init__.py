"""Locality reports: the JSON document, its HTML/PDF renderings, and verification."""
