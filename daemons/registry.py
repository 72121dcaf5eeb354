"""The daemon-kind registry: one module per kind under daemons/kinds/, one line per kind here.

Each registered kind has a Daemon row of the same name, created (with its default configuration) on
migrate. REGISTRY maps each kind to the dotted path of its BaseDaemon subclass, imported on first use: a
daemon host loads only its own kind, and this module imports none (the kinds import daemons.models,
which asks here for titles).
"""

from functools import cache

from django.utils.module_loading import import_string

REGISTRY: dict[str, str] = {
    "auto_stash_sync": "daemons.kinds.auto_stash_sync.AutoStashSyncDaemon",
    "auto_stash_generation": "daemons.kinds.auto_stash_generation.AutoStashGenerationDaemon",
    "auto_video_analysis": "daemons.kinds.auto_video_analysis.AutoVideoAnalysisDaemon",
    "auto_plan_applier": "daemons.kinds.auto_plan_applier.AutoPlanApplierDaemon",
    "download_processor": "daemons.kinds.download_processor.DownloadProcessorDaemon",
    "test": "daemons.kinds.test.TestDaemon",
}


@cache
def _load(path: str):
    return import_string(path)


def get_kind(kind: str):
    """The BaseDaemon subclass registered as `kind` (its module imported now if it was not yet), else None."""
    path = REGISTRY.get(kind)
    return _load(path) if path else None


def all_kinds() -> dict:
    """kind name -> BaseDaemon subclass, for every registered kind (imports every kind module)."""
    return {kind: get_kind(kind) for kind in REGISTRY}
