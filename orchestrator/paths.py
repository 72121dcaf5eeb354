"""Page paths that live payloads carry.

Daemon hosts and workers build these on every push; computing them here keeps those processes from
loading the URLconf (and with it every view, DRF included). tests/orchestrator/test_paths.py checks they match
reverse() of the URLconf.
"""


def daemon_path(name: str) -> str:
    return f"/daemons/{name}/"


def job_path(job_id) -> str:
    return f"/jobs/{job_id}/"


def plan_path(plan_id) -> str:
    return f"/plans/{plan_id}/"


def plans_path() -> str:
    return "/plans/"


def qbittorrent_settings_path() -> str:
    return "/settings/qbittorrent/"


def stash_settings_path() -> str:
    return "/settings/"


def video_analysis_settings_path() -> str:
    return "/settings/video-analysis/"


def downloads_path() -> str:
    return "/downloads/"


def daemons_path() -> str:
    return "/daemons/"


def jobs_path() -> str:
    return "/jobs/"


def health_path() -> str:
    return "/health/"


def notifications_settings_path() -> str:
    return "/settings/notifications/"
