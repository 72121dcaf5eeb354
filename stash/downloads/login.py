"""Keeping failed qBittorrent logins below its ban threshold.

qBittorrent bans an address for an hour after 5 failed logins (WebUI\\MaxAuthenticationFailCount) and
forgets failures only on a successful login, however long ago they were. Every process here (daemon
host, job workers, the web server's Settings page) shares one address, so the count lives in the database
(QBittorrentLogin) and every login goes through `before_login()` first:

- Automatic logins (daemon, jobs) with credentials that were already rejected wait 5 minutes after the
  first rejection and 30 after the second; other credentials (the settings were changed) are tried at once.
- After MAX_FAILED_LOGINS rejections in a row nothing is tried any more, automatic or not, until a person
  confirms on the Settings page that qBittorrent's own count was reset (it was restarted, or a login from
  this machine succeeded). That leaves qBittorrent's fourth and fifth failures to the person.
- While qBittorrent says we are banned, nothing is tried until the ban is over.
A successful login resets everything.
"""

from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from orchestrator import backoff
from stash.downloads.errors import LoginRefused
from stash.downloads.models import QBittorrentLogin

MAX_FAILED_LOGINS = 3
# After the 1st and the 2nd rejection of the same credentials: seconds before an automatic retry (5 and
# 30 minutes; the third rejection stops automatic logins altogether).
RETRY_FIRST_SECONDS, RETRY_FACTOR, RETRY_MAX_SECONDS = 300, 6, 1800
BAN_SECONDS = 3600
QBITTORRENT_BANS_AFTER = 5


def state() -> QBittorrentLogin:
    row, _ = QBittorrentLogin.objects.get_or_create(pk=QBittorrentLogin.SINGLETON_ID)
    return row


def before_login(fingerprint: str, *, interactive: bool = False):
    """Raise LoginRefused when a login must not be tried now."""
    row = state()
    now = timezone.now()
    if row.banned_until and row.banned_until > now:
        raise LoginRefused(
            "qBittorrent has banned this machine's address after too many failed logins; not trying again "
            f"before {timezone.localtime(row.banned_until):%Y-%m-%d %H:%M:%S}"
        )
    if row.failures >= MAX_FAILED_LOGINS:
        raise LoginRefused(
            f"Not logging in to qBittorrent: {row.failures} logins in a row were rejected, and qBittorrent bans "
            f"an address after {QBITTORRENT_BANS_AFTER}. Correct the username or password on the Settings page "
            "and confirm there that qBittorrent's count was reset"
        )
    if row.failures and not interactive and fingerprint == row.rejected_fingerprint:
        wait = backoff.delay(row.failures, RETRY_FIRST_SECONDS, RETRY_MAX_SECONDS, RETRY_FACTOR)
        retry_at = row.last_failure_at + timedelta(seconds=wait)
        if retry_at > now:
            times = "once" if row.failures == 1 else f"{row.failures} times"
            raise LoginRefused(
                f"Not logging in to qBittorrent before {timezone.localtime(retry_at):%H:%M:%S}: it rejected this "
                f"username and password {times} (it bans an address after {QBITTORRENT_BANS_AFTER} failed "
                "logins). Correct them on the Settings page to try at once"
            )


def record_failure(fingerprint: str, message: str):
    state()
    # F() so that two processes failing at once both count.
    QBittorrentLogin.objects.filter(pk=QBittorrentLogin.SINGLETON_ID).update(
        failures=F("failures") + 1,
        last_failure_at=timezone.now(),
        rejected_fingerprint=fingerprint,
        last_error=message[:500],
    )


def record_ban(message: str):
    state()
    now = timezone.now()
    QBittorrentLogin.objects.filter(pk=QBittorrentLogin.SINGLETON_ID).update(
        # qBittorrent forgets an address's failures when its ban ends, so the count starts over then too.
        failures=0,
        banned_until=now + timedelta(seconds=BAN_SECONDS),
        last_failure_at=now,
        last_error=message[:500],
    )


def record_success():
    now = timezone.now()
    updated = QBittorrentLogin.objects.filter(pk=QBittorrentLogin.SINGLETON_ID).update(
        failures=0, rejected_fingerprint="", last_error="", banned_until=None, last_success_at=now
    )
    if not updated:
        QBittorrentLogin.objects.get_or_create(pk=QBittorrentLogin.SINGLETON_ID, defaults={"last_success_at": now})


def reset():
    """A person confirmed that qBittorrent's own count was reset: allow logins again."""
    state()
    QBittorrentLogin.objects.filter(pk=QBittorrentLogin.SINGLETON_ID).update(
        failures=0, rejected_fingerprint="", banned_until=None
    )
