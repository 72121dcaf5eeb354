"""How videos are analysed: the effective video analysis settings, and the tagger reachability check.

Precedence, per value: the environment (VIDEO_TAGGER_URL, VIDEO_TAGGER_TIMEOUT_SECONDS,
VIDEO_TAGGER_PATH_MAPPINGS, VIDEO_ANALYSIS_FRAME_INTERVAL, VIDEO_ANALYSIS_MAX_MARKERS,
VIDEO_ANALYSIS_MARKER_INTERVAL_SECONDS) over the VideoAnalysisSettings row. orchestrator/settings.py reads
and validates the variables at start-up and leaves an unset one None; that is how "set" is told apart from
"the default". An analysis job reads these once, when it starts.
"""

from dataclasses import dataclass, field

from django.conf import settings

from stash.analysis.models import VideoAnalysisSettings

# Settings field → the environment variable that decides it when set.
ENV_VARIABLES = {
    "tagger_url": "VIDEO_TAGGER_URL",
    "tagger_timeout_seconds": "VIDEO_TAGGER_TIMEOUT_SECONDS",
    "tagger_path_mappings": "VIDEO_TAGGER_PATH_MAPPINGS",
    "frame_interval": "VIDEO_ANALYSIS_FRAME_INTERVAL",
    "max_markers": "VIDEO_ANALYSIS_MAX_MARKERS",
    "marker_interval_seconds": "VIDEO_ANALYSIS_MARKER_INTERVAL_SECONDS",
}
BUILTIN = "builtin"
TAGGER = "tagger"
# The Test button must answer quickly even when the host drops packets.
TEST_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class AnalysisSettings:
    tagger_url: str
    tagger_timeout_seconds: float
    tagger_path_mappings: list[dict]
    frame_interval: float
    max_markers: int
    marker_interval_seconds: float
    # Fields the environment decided: field name → variable name.
    from_env: dict[str, str] = field(default_factory=dict)

    @property
    def analyzer(self) -> str:
        return TAGGER if self.tagger_url else BUILTIN

    def describe(self) -> str:
        """Which analyzer runs, in the words the pages use."""
        if self.tagger_url:
            return f"AI video tagger at {self.tagger_url}"
        return "built-in ffprobe/ffmpeg analyzer"


def env_overrides() -> dict[str, str]:
    """Settings fields whose value the environment decides: field name → variable name."""
    return {name: variable for name, variable in ENV_VARIABLES.items() if _env(variable) is not None}


def env_value(name: str):
    """The value the environment gives the settings field `name` (None when its variable is unset)."""
    return _env(ENV_VARIABLES[name])


def _env(variable: str):
    value = getattr(settings, variable, None)
    # An empty URL is "not set", as orchestrator/settings.py reads an empty VIDEO_TAGGER_URL.
    return None if value == "" else value


def effective_settings(row: VideoAnalysisSettings | None = None) -> AnalysisSettings:
    """The settings an analysis uses. `row` lets the Settings page try unsaved values."""
    row = row if row is not None else VideoAnalysisSettings.load()
    overrides = env_overrides()
    values = {name: env_value(name) if name in overrides else getattr(row, name) for name in ENV_VARIABLES}
    return AnalysisSettings(**values, from_env=overrides)


class TaggerUnreachable(Exception):
    """The tagger did not answer the Test button's request; the message says why."""


def check_tagger(url: str) -> int:
    """GET the tagger's base URL with a short timeout and no retries; returns the HTTP status (any answer
    means something listens there). Raises TaggerUnreachable with the exact cause otherwise."""
    import requests

    if not url:
        raise TaggerUnreachable("No tagger URL to test: enter one, or set VIDEO_TAGGER_URL")
    try:
        response = requests.get(url + "/", timeout=TEST_TIMEOUT_SECONDS, allow_redirects=False)
    except requests.Timeout:
        raise TaggerUnreachable(f"The video tagger at {url} did not answer within {TEST_TIMEOUT_SECONDS:g} s") from None
    except requests.RequestException as exc:
        raise TaggerUnreachable(f"The video tagger at {url} is unreachable: {exc}") from None
    return response.status_code
