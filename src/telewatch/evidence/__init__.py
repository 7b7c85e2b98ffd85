"""Evidence: RFC 3161 anchors of the hash chain and evidence bundles (docs/EVIDENCE.md)."""
