"""Downloads from qBittorrent: how to reach it and where files go (one settings row), the login-failure
count that keeps us from being banned, and what every run did with each torrent and each file.

`HandledDownload` is the ledger that makes processing idempotent: one row per torrent file, unique on
(torrent hash, the file's path inside the torrent). A file with a row is never placed again, so a rerun
after a crash places nothing twice; a file without one is looked at again, so it misses nothing.
"""

import hashlib

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from orchestrator.paths import job_path
from orchestrator.singleton import SettingsRow


class LinkMode(models.TextChoices):
    HARDLINK = "hardlink", "Hard link (copy when the library is on another file system)"
    COPY = "copy", "Copy"


class QBittorrentSettings(SettingsRow):
    """How to reach qBittorrent and what to do with its finished torrents: one row (pk 1).

    `password` is stored in clear because we must send it, but no page, admin form or log renders it."""

    host = models.CharField(
        max_length=255, blank=True, default="", help_text="Host name or IP address, optionally with http:// or https://"
    )
    port = models.PositiveIntegerField(default=8080)
    username = models.CharField(max_length=255, blank=True, default="")
    password = models.CharField(max_length=1000, blank=True, default="")
    category = models.CharField(max_length=255, default="xxx", help_text="Only torrents of this category are taken")
    handled_tag = models.CharField(max_length=100, default="synced")
    failed_tag = models.CharField(max_length=100, default="error_syncing")
    library_path = models.CharField(
        max_length=1000, blank=True, default="", help_text="Folder on this machine that files are placed in"
    )
    library_stash_path = models.CharField(
        max_length=1000, blank=True, default="", help_text="The same folder as Stash sees it (empty: the same path)"
    )
    link_mode = models.CharField(max_length=16, choices=LinkMode.choices, default=LinkMode.HARDLINK)
    min_video_seconds = models.PositiveIntegerField(
        default=0, help_text="Videos shorter than this are not placed (0: no minimum)"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "qBittorrent settings"
        verbose_name_plural = "qBittorrent settings"
        constraints = [models.CheckConstraint(condition=Q(id=1), name="qbittorrent_settings_singleton")]

    def __str__(self):
        return "qBittorrent settings"

    def clean(self):
        from stash.downloads import validation as check

        errors = self.check_fields(
            (
                ("host", check.clean_host),
                ("port", check.clean_port),
                ("category", check.clean_category),
                ("handled_tag", lambda v: check.clean_tag(v, "The handled tag")),
                ("failed_tag", lambda v: check.clean_tag(v, "The failed tag")),
                ("library_path", check.clean_library_path),
                ("library_stash_path", check.clean_library_stash_path),
                ("min_video_seconds", check.clean_min_video_seconds),
            )
        )
        if not errors.get("failed_tag") and not errors.get("handled_tag") and self.handled_tag == self.failed_tag:
            errors["failed_tag"] = ["The failed tag must differ from the handled tag."]
        if self.library_stash_path and not self.library_path:
            errors["library_stash_path"] = ["Set the library folder on this machine first."]
        if errors:
            raise ValidationError(errors)

    # --- what the rest of the code asks ---------------------------------------------------------

    @property
    def is_configured(self) -> bool:
        return bool(self.host)

    @property
    def base_url(self) -> str:
        host = self.host if "://" in self.host else f"http://{self.host}"
        return f"{host}:{self.port}"

    def credentials_fingerprint(self) -> str:
        """Identifies the host and credentials a login used, without storing the password again."""
        text = "\0".join((self.host, str(self.port), self.username, self.password))
        return hashlib.sha256(text.encode()).hexdigest()

    def library_mapping(self) -> list[dict]:
        """The library folder's path translation, as a Stash path mapping (empty when Stash sees the same path)."""
        if self.library_path and self.library_stash_path and self.library_path != self.library_stash_path:
            return [{"local": self.library_path, "stash": self.library_stash_path}]
        return []


class QBittorrentLogin(models.Model):
    """Consecutive failed logins to qBittorrent, shared by every process (pk 1).

    qBittorrent bans an address for an hour after 5 failed logins and forgets failures only on a
    successful login, so the count must outlive processes: stash.downloads.login decides from it whether
    a login may be tried at all. Kept apart from the settings row so that saving the settings form never
    overwrites a count another process just raised."""

    SINGLETON_ID = 1

    failures = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    # Which host and credentials were rejected last (QBittorrentSettings.credentials_fingerprint()).
    rejected_fingerprint = models.CharField(max_length=64, blank=True, default="")
    last_error = models.CharField(max_length=500, blank=True, default="")
    banned_until = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "qBittorrent login state"
        verbose_name_plural = "qBittorrent login state"
        constraints = [models.CheckConstraint(condition=Q(id=1), name="qbittorrent_login_singleton")]

    def __str__(self):
        return f"{self.failures} failed qBittorrent logins in a row"


class FileStatus(models.TextChoices):
    PLACED = "placed", "Placed"
    EXISTING = "existing", "Already in the library"
    SKIPPED = "skipped", "Skipped"
    FAILED = "failed", "Failed"


# Statuses after which a file is done: a rerun leaves it alone.
DONE_FILE_STATUSES = (FileStatus.PLACED, FileStatus.EXISTING, FileStatus.SKIPPED)


class HandledDownload(models.Model):
    """One file of one torrent: where it came from, where it went, and how."""

    torrent_hash = models.CharField(max_length=64)
    torrent_name = models.CharField(max_length=1000)
    # The file's path inside the torrent, exactly as qBittorrent reports it (the idempotency key).
    relative_path = models.CharField(max_length=1024)
    source_path = models.TextField()
    destination_path = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=FileStatus.choices)
    method = models.CharField(max_length=16, blank=True, help_text="hardlink or copy, for placed files")
    size = models.BigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    # The process_downloads job that last wrote the row, and the stash_scan job that covers its folder
    # (jobs depend on stash, so these are ids, not foreign keys).
    job_id = models.UUIDField(null=True, blank=True)
    scan_job_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["torrent_name", "relative_path"]
        constraints = [
            models.UniqueConstraint(fields=["torrent_hash", "relative_path"], name="handled_download_torrent_file")
        ]
        indexes = [
            # The Downloads page grouped by job, and the rows one job wrote.
            models.Index(fields=["job_id"], name="handled_download_job"),
            # Placed files whose folder no scan has covered yet (the daemon asks every cycle).
            models.Index(
                fields=["created_at"],
                name="handled_download_unscanned",
                condition=Q(status__in=["placed", "existing"], scan_job_id__isnull=True),
            ),
        ]

    def __str__(self):
        return f"{self.torrent_name}: {self.relative_path} ({self.status})"

    @property
    def job_url(self) -> str:
        return job_path(self.job_id) if self.job_id else ""


class TorrentOutcomeKind(models.TextChoices):
    HANDLED = "handled", "Handled"
    FAILED = "failed", "Failed"
    RETRY = "retry", "Not tagged; tried again next run"


class TorrentOutcome(models.Model):
    """What one process_downloads job did with one torrent: tagged handled, tagged failed (with the
    reason), or left untagged to be tried again (e.g. the library was full or qBittorrent went away)."""

    job_id = models.UUIDField(null=True, blank=True)
    torrent_hash = models.CharField(max_length=64)
    torrent_name = models.CharField(max_length=1000)
    outcome = models.CharField(max_length=16, choices=TorrentOutcomeKind.choices)
    reason = models.TextField(blank=True)
    tagged = models.CharField(max_length=100, blank=True, help_text="The tag added in qBittorrent, if any")
    files_placed = models.PositiveIntegerField(default=0)
    files_existing = models.PositiveIntegerField(default=0)
    files_skipped = models.PositiveIntegerField(default=0)
    files_failed = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The Downloads page: latest outcomes first, per torrent and per job.
            models.Index(fields=["torrent_hash", "-created_at"], name="torrent_outcome_torrent"),
            models.Index(fields=["job_id", "-created_at"], name="torrent_outcome_job"),
            models.Index(fields=["-created_at"], name="torrent_outcome_created"),
        ]

    def __str__(self):
        return f"{self.torrent_name}: {self.outcome}"
