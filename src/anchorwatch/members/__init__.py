"""Members: the emotional-labour ledger, value index and burnout risk (DESIGN 1.3-1.4)."""
