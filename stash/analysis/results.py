"""What an analyzer found in one video, whichever analyzer it was."""

from dataclasses import dataclass, field


class AnalysisError(Exception):
    """This scene could not be analysed now (tagger down or confused, file unreadable, tool missing).

    The message is the reason shown on the scene and in the job result; the scene is retried later."""


@dataclass(frozen=True)
class DetectedTag:
    name: str
    confidence: float


@dataclass(frozen=True)
class DetectedMarker:
    seconds: float
    title: str
    tags: tuple[str, ...]
    confidence: float
    end_seconds: float | None = None


@dataclass
class VideoResult:
    tags: list[DetectedTag] = field(default_factory=list)
    markers: list[DetectedMarker] = field(default_factory=list)
