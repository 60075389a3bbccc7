"""The read side: every view of the latest analysis and of the history, from one loader
(`show.latest_report`, the `latest.json` contract) and said in one way (`wording`).

- `wording.py`: how a window's numbers are said, everywhere;
- `show.py`: `cctrack show` and `latest.json`;
- `desk.py`: the status line, the desktop bars and guard;
- `hook.py`: the line for the agent's context;
- `history.py`: `events`, `history`, `tokens` and `cycles`, from the day files and the rollup;
- `page.py`: the HTML report.

A new view is a module here: a pure renderer of the report (report.py) or of the history.
"""
