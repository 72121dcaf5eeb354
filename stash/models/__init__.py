"""The stash app's models. The library mirror is here (`mirror.py`); every other model lives with its
feature (`stash/<feature>/models.py`) and is imported below only so that Django registers it."""

from stash.analysis import models as analysis_models  # noqa: F401
from stash.connection import models as connection_models  # noqa: F401
from stash.downloads import models as downloads_models  # noqa: F401
from stash.models.mirror import Performer, Scene, SceneFile, SceneMarker, Studio, SyncCursor, Tag
from stash.plans import models as plans_models  # noqa: F401

__all__ = ["Performer", "Scene", "SceneFile", "SceneMarker", "Studio", "SyncCursor", "Tag"]
