"""Why talking to qBittorrent did not work, in words a user can act on."""


class DownloadsError(Exception):
    """Base: processing downloads cannot go on; the message says why."""


class NotConfigured(DownloadsError):
    """qBittorrent's host (or the library folder) is not set."""


class Unreachable(DownloadsError):
    """qBittorrent did not answer (refused, timed out, name unknown, TLS failed)."""


class LoginRejected(DownloadsError):
    """qBittorrent answered that the username or password is wrong (this counted as a failed login)."""


class LoginRefused(DownloadsError):
    """We did not even try to log in: earlier failures or a ban make another attempt unsafe."""


class QBittorrentError(DownloadsError):
    """qBittorrent answered, but not as expected (an HTTP error, an unexpected reply)."""
