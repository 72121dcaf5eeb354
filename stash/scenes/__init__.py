"""The Scenes pages over the library mirror (the mirror itself is stash.models, kept current by stash.sync).

- `views.py`: the list with its filters (`filters.py`) and job buttons, and one scene's page; `urls.py`.
- `admin.py`: the mirror in the admin (read-only but for the workflow flags).
- `generation.py`: what "generated" means and which scenes Stash has really generated.
"""
