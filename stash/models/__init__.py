"""The stash app's models, one module per subject: the library mirror, the Stash and video analysis
settings, analysis plans, and handled downloads."""

from stash.models.downloads import (
    DONE_FILE_STATUSES,
    FileStatus,
    HandledDownload,
    LinkMode,
    QBittorrentLogin,
    QBittorrentSettings,
    TorrentOutcome,
    TorrentOutcomeKind,
)
from stash.models.mirror import Performer, Scene, SceneFile, SceneMarker, Studio, SyncCursor, Tag
from stash.models.plans import AnalysisPlan, ChangeAction, ChangeField, ChangeStatus, PlanChange, PlanStatus
from stash.models.settings import PreviewPreset, StashSettings, VideoAnalysisSettings

__all__ = [
    "DONE_FILE_STATUSES",
    "FileStatus",
    "HandledDownload",
    "LinkMode",
    "QBittorrentLogin",
    "QBittorrentSettings",
    "TorrentOutcome",
    "TorrentOutcomeKind",
    "AnalysisPlan",
    "ChangeAction",
    "ChangeField",
    "ChangeStatus",
    "PlanChange",
    "PlanStatus",
    "Performer",
    "PreviewPreset",
    "Scene",
    "SceneFile",
    "SceneMarker",
    "StashSettings",
    "Studio",
    "SyncCursor",
    "Tag",
    "VideoAnalysisSettings",
]
