"""Who may do what: roles and their permissions (data), API keys (hashed, prefixed, scoped)."""
