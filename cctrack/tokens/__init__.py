"""Token counting, apart from the limits: how many tokens this host's Claude Code and Codex
logs say were used, each message once, as ccusage 20.0.24 counts them (docs/tokens.md).

- `rules.py`: which transcript and rollout lines count, and once (pure);
- `prices.py`: API prices per model, and what counted tokens would cost (pure);
- `projects.py`: how a project is named, and which have token series of their own (pure);
- `db.py`: the scan's SQLite store, every SQL statement in one class (`ScanStore`);
- `scan.py`: the incremental scan of the logs' new bytes, and the token records it appends
  to the day files (capture runs it beside the status tools).

Analyze folds the token records like any other (state.py); `cctrack tokens` reads them
again (views/history.py).
"""
