"""Claude Code's sources: the status line snapshot (statusline, saved), `.claude.json`'s
cache of the usage endpoint (cached), the endpoint itself (oauth, keychain), and the
status that combines them per field (combined). Empty, so that a desk command that only
reads the status line snapshot imports that alone."""
