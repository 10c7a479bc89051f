"""Engagement cycles: rule-driven reminder emails (docs/engagement.md)."""
