"""Docker backend internals (imported lazily: the SDK stays optional for local use)."""
