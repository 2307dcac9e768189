"""The domain rules. The CLI, the web API and the inbox call these, never each other."""
