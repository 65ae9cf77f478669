"""Signed attestations: keys, in-toto Statements in DSSE envelopes, and the signatures on overlays and the ledger."""
