"""The daemon-kind registry: one module per kind under daemons/kinds/, one line per kind here.

Each registered kind has a Daemon row of the same name, created (with its default configuration) on
migrate.
"""


def _build_registry() -> dict:
    from daemons.kinds.auto_plan_applier import AutoPlanApplierDaemon
    from daemons.kinds.auto_stash_generation import AutoStashGenerationDaemon
    from daemons.kinds.auto_stash_sync import AutoStashSyncDaemon
    from daemons.kinds.auto_video_analysis import AutoVideoAnalysisDaemon
    from daemons.kinds.download_processor import DownloadProcessorDaemon
    from daemons.kinds.test import TestDaemon

    kinds = [
        AutoStashSyncDaemon,
        AutoStashGenerationDaemon,
        AutoVideoAnalysisDaemon,
        AutoPlanApplierDaemon,
        DownloadProcessorDaemon,
        TestDaemon,
    ]
    return {kind.kind: kind for kind in kinds}


_REGISTRY = None


def registry() -> dict:
    """kind name -> BaseDaemon subclass (built lazily: kinds import models)."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = _build_registry()
    return _REGISTRY


def get_kind(kind: str):
    return registry().get(kind)
