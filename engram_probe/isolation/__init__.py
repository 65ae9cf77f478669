"""Cross-tenant isolation in a shared table: the merge, the per-user proof, the cross-user probe, exposure, erasure."""
