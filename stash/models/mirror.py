"""The local mirror of a Stash library.

Mirror rows are keyed by Stash's own integer ids (primary keys), so a sync page is upserted in bulk with
`bulk_create(update_conflicts=True)` and relation rows are rebuilt by id without looking anything up.
Stash's created/updated times are kept as datetimes for display and filtering; the incremental watermark
keeps Stash's exact strings (SyncCursor), because Stash compares those as strings in its own time zone.
"""

import hashlib

from django.db import models
from django.db.models import Q


class Tag(models.Model):
    id = models.BigIntegerField(primary_key=True, help_text="Stash's tag id")
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    aliases = models.JSONField(default=list, blank=True)
    favorite = models.BooleanField(default=False)
    ignore_auto_tag = models.BooleanField(default=False)
    # Stash tags form a graph: a tag can have several parents.
    parents = models.ManyToManyField("self", symmetrical=False, related_name="children", blank=True)
    stash_created_at = models.DateTimeField(null=True, blank=True)
    stash_updated_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["name"], name="stash_tag_name")]  # tag filter and plan lookups

    def __str__(self):
        return self.name


class Performer(models.Model):
    id = models.BigIntegerField(primary_key=True, help_text="Stash's performer id")
    name = models.CharField(max_length=255)
    disambiguation = models.CharField(max_length=255, blank=True, default="")
    gender = models.CharField(max_length=32, blank=True, default="")
    urls = models.JSONField(default=list, blank=True)
    birthdate = models.CharField(max_length=10, blank=True, default="", help_text="As Stash stores it")
    country = models.CharField(max_length=64, blank=True, default="")
    favorite = models.BooleanField(default=False)
    rating100 = models.PositiveSmallIntegerField(null=True, blank=True)
    details = models.TextField(blank=True, default="")
    aliases = models.JSONField(default=list, blank=True)
    stash_created_at = models.DateTimeField(null=True, blank=True)
    stash_updated_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["name"], name="stash_performer_name")]  # performer filter

    def __str__(self):
        return f"{self.name} ({self.disambiguation})" if self.disambiguation else self.name


class Studio(models.Model):
    id = models.BigIntegerField(primary_key=True, help_text="Stash's studio id")
    name = models.CharField(max_length=255)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    urls = models.JSONField(default=list, blank=True)
    details = models.TextField(blank=True, default="")
    rating100 = models.PositiveSmallIntegerField(null=True, blank=True)
    favorite = models.BooleanField(default=False)
    aliases = models.JSONField(default=list, blank=True)
    stash_created_at = models.DateTimeField(null=True, blank=True)
    stash_updated_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["name"], name="stash_studio_name")]  # studio filter

    def __str__(self):
        return self.name


class Scene(models.Model):
    id = models.BigIntegerField(primary_key=True, help_text="Stash's scene id")
    title = models.CharField(max_length=500, blank=True, default="")
    code = models.CharField(max_length=255, blank=True, default="")
    details = models.TextField(blank=True, default="")
    director = models.CharField(max_length=255, blank=True, default="")
    urls = models.JSONField(default=list, blank=True)
    date = models.DateField(null=True, blank=True)
    rating100 = models.PositiveSmallIntegerField(null=True, blank=True)
    organized = models.BooleanField(default=False)
    screenshot_url = models.CharField(max_length=1000, blank=True, default="")
    studio = models.ForeignKey(Studio, null=True, blank=True, on_delete=models.SET_NULL, related_name="scenes")
    performers = models.ManyToManyField(Performer, related_name="scenes", blank=True, db_constraint=False)
    tags = models.ManyToManyField(Tag, related_name="scenes", blank=True, db_constraint=False)
    stash_created_at = models.DateTimeField(null=True, blank=True)
    stash_updated_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(auto_now=True)
    # Local workflow flags: never written by Stash, only by our jobs (and reset by sync where documented).
    generated = models.BooleanField(default=False, help_text="Stash has generated every artefact we check")
    video_analyzed = models.BooleanField(default=False, help_text="The video tagger has processed this scene")
    analyzed = models.BooleanField(default=False, help_text="Metadata analysis has processed this scene")
    # When a sync last saw this scene's markers change (new, edited or gone), which resets `generated`: a
    # generation that began before it may lack the new markers' previews, so it does not set the flag.
    markers_changed_at = models.DateTimeField(null=True, blank=True)
    # A failed video analysis (tagger down, bad answer) leaves video_analyzed false and is retried later,
    # with a growing delay: attempts so far, when the next may start, and the last reason.
    video_analysis_attempts = models.PositiveSmallIntegerField(default=0)
    video_analysis_retry_at = models.DateTimeField(null=True, blank=True)
    video_analysis_error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-id"]
        indexes = [
            # "Scenes needing generation" (the generation daemon's check) over a large library.
            models.Index(fields=["id"], condition=Q(generated=False), name="stash_scene_ungenerated"),
            # The video analysis daemon's batches.
            models.Index(fields=["id"], condition=Q(video_analyzed=False), name="stash_scene_unanalyzed_video"),
            models.Index(fields=["id"], condition=Q(analyzed=False), name="stash_scene_unanalyzed"),
            models.Index(fields=["stash_updated_at"], name="stash_scene_updated"),  # Scenes page sort
        ]

    def __str__(self):
        return self.title or f"Scene {self.id}"

    @property
    def cover_url(self) -> str:
        """This server's URL of the cover (never Stash's: the browser has no key). Its `v` changes with
        Stash's cache-buster, so a new cover is a new URL."""
        if not self.screenshot_url:
            return ""
        version = hashlib.sha256(self.screenshot_url.encode()).hexdigest()[:12]
        return f"/scenes/{self.pk}/cover/?v={version}"

    @property
    def primary_file(self):
        files = list(self.files.all())
        return files[0] if files else None


class SceneFile(models.Model):
    """A video file of a scene. Stash lists a scene's primary file first; `position` keeps that order."""

    id = models.BigIntegerField(primary_key=True, help_text="Stash's file id")
    scene = models.ForeignKey(Scene, on_delete=models.CASCADE, related_name="files")
    position = models.PositiveSmallIntegerField(default=0)
    path = models.TextField()
    basename = models.CharField(max_length=1000, blank=True, default="")
    size = models.BigIntegerField(null=True, blank=True)
    duration = models.FloatField(null=True, blank=True)
    video_codec = models.CharField(max_length=64, blank=True, default="")
    audio_codec = models.CharField(max_length=64, blank=True, default="")
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    frame_rate = models.FloatField(null=True, blank=True)
    bit_rate = models.BigIntegerField(null=True, blank=True)
    format = models.CharField(max_length=64, blank=True, default="")
    mod_time = models.DateTimeField(null=True, blank=True)
    fingerprints = models.JSONField(default=dict, blank=True, help_text="type → value, e.g. phash, oshash, md5")

    class Meta:
        ordering = ["scene_id", "position"]

    def __str__(self):
        return self.path

    @property
    def resolution(self) -> str:
        return f"{self.width}×{self.height}" if self.width and self.height else ""


class SceneMarker(models.Model):
    id = models.BigIntegerField(primary_key=True, help_text="Stash's marker id")
    scene = models.ForeignKey(Scene, on_delete=models.CASCADE, related_name="markers")
    title = models.CharField(max_length=500, blank=True, default="")
    seconds = models.FloatField()
    end_seconds = models.FloatField(null=True, blank=True)
    primary_tag = models.ForeignKey(Tag, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    tags = models.ManyToManyField(Tag, related_name="markers", blank=True, db_constraint=False)
    stash_created_at = models.DateTimeField(null=True, blank=True)
    stash_updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["scene_id", "seconds"]

    def __str__(self):
        return f"{self.title or 'Marker'} @ {self.seconds:.1f}s"


class SyncCursor(models.Model):
    """Where incremental syncs continue from, per kind of object (scenes, markers, tags, …).

    `watermark` is the largest `updated_at` string Stash returned in a completed full or incremental run,
    exactly as Stash formatted it; only those runs move it (a targeted sync_scenes never does)."""

    name = models.CharField(max_length=32, unique=True)
    watermark = models.CharField(max_length=64, blank=True, default="")
    last_full_sync_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.name}: {self.watermark or '(never synced)'}"
