"""How to reach Stash and talk to it.

- `config.py` decides which Stash (the environment, then the settings row, then demo mode) and hands out
  clients (`get_client`); `paths.py` translates paths between this machine and Stash.
- `client.py` speaks Stash's GraphQL API, with the documents of `documents.py` and the errors of `errors.py`.
- `follow.py` follows a task in Stash's own job queue (scan, generate) to its end.
- `models.py` (the settings row), `validation.py`, and the Stash settings page: `views.py`, `forms.py`,
  `api.py`, `admin.py`, `urls.py`; `context.py` tells every page whether it is demo mode.
"""
