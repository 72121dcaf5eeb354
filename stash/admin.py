"""Django's admin autodiscovery imports this module: each feature's admin lives in its own folder."""

from stash.analysis import admin as analysis_admin  # noqa: F401
from stash.connection import admin as connection_admin  # noqa: F401
from stash.downloads import admin as downloads_admin  # noqa: F401
from stash.plans import admin as plans_admin  # noqa: F401
from stash.scenes import admin as scenes_admin  # noqa: F401
