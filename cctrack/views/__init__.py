"""The read side: every view of the latest analysis and of the history, from one loader
(`latest.latest_report`, which reads `latest.json`, the report analyze wrote) and said in
one way (`wording`).

- `wording.py`: how a window's numbers are said, everywhere;
- `latest.py`: the loader every reading command starts from, and `latest.json`;
- `show.py`: `cctrack show`;
- `desk.py`: the status line, the desktop bars and guard;
- `hook.py`: the line for the agent's context;
- `history.py`: `events`, `history`, `tokens` and `cycles`, from the day files and the rollup;
- `page.py`: the HTML report.

A new view is a module here: a pure renderer of the report (report.py) or of the history.
"""
