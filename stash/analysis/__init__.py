"""Video analysis: what the `analysis` job does to each scene.

- `scenes.py` reads a scene from the mirror (tags, primary file, markers) and says whether it looks VR;
- `tagger.py` asks the AI video tagger (`POST {url}/process_video/`, the AITagger server protocol);
- `local.py` is the built-in analyzer used when no tagger is configured (ffprobe facts, ffmpeg cuts);
- `proposals.py` turns either's findings into plan changes (`_AI` names, no duplicates);
- `run.py` drives a batch: one plan per job, `video_analyzed` per scene, failures retried later;
- `config.py` decides the settings in use (the environment over the row in `models.py`); the settings
  page is `views.py`, `forms.py` (with `validation.py`), `api.py`, `admin.py` and `urls.py`.
"""
