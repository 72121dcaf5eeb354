"""One analysis batch: each scene analysed, its proposals added to the job's plan, its flags recorded.

Per scene, in its own transaction after the analyzer answered (no transaction spans a tagger request
or an ffmpeg run): the changes go into the job's one plan, created with the first change (no plan when
there is nothing to propose), and the scene gets `video_analyzed=true` with its failure record cleared.
A scene that could not be analysed keeps `video_analyzed` as it was and records why, how many attempts
failed and when to try again (10 min, doubling, at most 24 h): a tagger outage delays scenes instead of
sweeping the library into "analysed with errors".
"""

import logging
from dataclasses import asdict, dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from orchestrator import backoff
from stash.analysis import local, tagger
from stash.analysis.config import TAGGER, AnalysisSettings
from stash.analysis.proposals import propose
from stash.analysis.results import AnalysisError
from stash.analysis.scenes import SceneInput, load_scene
from stash.plans import PlanError

logger = logging.getLogger(__name__)

# The job result lists at most this many failures (all of them are on the scenes).
MAX_LISTED_FAILURES = 100
MAX_ATTEMPTS = 32767  # the column's ceiling
FIELDS = ("tags", "performers", "studio", "title", "details", "markers")
ACTIONS = ("add", "remove", "set")


@dataclass(frozen=True)
class Options:
    plan_name: str
    confidence_threshold: float = 0.7
    frame_interval: float = 2.0
    tagger_threshold: float = 0.3
    create_markers: bool = True


def default_plan_name() -> str:
    return "Auto Video Analysis - " + timezone.localtime().strftime("%Y-%m-%d %H:%M:%S")


def retry_delay(attempts: int) -> timedelta:
    """How long a scene waits after its `attempts`-th failed analysis."""
    first, ceiling = settings.VIDEO_ANALYSIS_RETRY_FIRST_SECONDS, settings.VIDEO_ANALYSIS_RETRY_MAX_SECONDS
    return timedelta(seconds=backoff.delay(attempts, first, ceiling))


class Batch:
    def __init__(
        self,
        scene_ids: list[int],
        options: Options,
        config: AnalysisSettings,
        *,
        job_id=None,
        check_cancelled=None,
        progress=None,
    ):
        self.scene_ids = list(dict.fromkeys(scene_ids))
        self.options = options
        self.config = config  # read once for the whole batch (stash.analysis.config.effective_settings)
        self.job_id = job_id
        self.check_cancelled = check_cancelled or (lambda: None)
        self.progress = progress or (lambda *args, **kwargs: None)
        self.plan = None
        self.analysed = 0
        self.failures: list[dict] = []
        self.missing: list[int] = []
        self.by_field = dict.fromkeys(FIELDS, 0)
        self.by_action = dict.fromkeys(ACTIONS, 0)

    def run(self) -> dict:
        total = len(self.scene_ids)
        try:
            for done, scene_id in enumerate(self.scene_ids):
                self.check_cancelled()
                self.progress(done * 100 / total, f"Analyzing scene {scene_id} ({done + 1}/{total})", done, total)
                self.analyse(scene_id)
        finally:
            if self.plan is not None:
                self._finish_plan()
        self.progress(100, self.summary_line(), total, total)
        return self.result()

    def analyse(self, scene_id: int):
        scene = load_scene(scene_id)
        if scene is None:
            self.missing.append(scene_id)  # deleted in Stash since it was queued: nothing to record on
            return
        try:
            if not scene.file_path:
                raise AnalysisError("The scene has no video file in Stash")
            result = self._analyzer(scene)
            changes = propose(
                scene,
                result,
                confidence_threshold=self.options.confidence_threshold,
                create_markers=self.options.create_markers,
                status_tags=self.analyzer == TAGGER,
            )
            self._record_success(scene, changes)
        except AnalysisError as error:
            self._record_failure(scene, str(error))
        except PlanError as error:
            # E.g. the plan was cancelled while this job was still filling it: the scene comes round again.
            self._record_failure(scene, f"Could not add the proposals to the plan: {error}")
        except Exception as error:
            # A cancellation raised inside the analyzer lands here too: it must stop the batch.
            self.check_cancelled()
            logger.exception("Video analysis of scene %s failed", scene_id)
            self._record_failure(scene, f"Unexpected error: {type(error).__name__}: {error}")

    @property
    def analyzer(self) -> str:
        return self.config.analyzer

    def _analyzer(self, scene: SceneInput):
        options, config = self.options, self.config
        if self.analyzer == TAGGER:
            return tagger.analyze(
                scene,
                url=config.tagger_url,
                path_mappings=config.tagger_path_mappings,
                frame_interval=options.frame_interval,
                threshold=options.tagger_threshold,
                timeout=config.tagger_timeout_seconds,
                check_cancelled=self.check_cancelled,
            )
        return local.analyze(
            scene,
            max_markers=config.max_markers,
            marker_interval=config.marker_interval_seconds,
            create_markers=options.create_markers,
            check_cancelled=self.check_cancelled,
        )

    def _record_success(self, scene: SceneInput, changes: list[dict]):
        from stash.models import Scene
        from stash.plans import add_changes, create_plan

        plan = self.plan
        with transaction.atomic():
            if changes:
                plan = plan or create_plan(self.options.plan_name, self.job_id, self._plan_metadata())
                add_changes(plan, scene.id, changes)
            Scene.objects.filter(pk=scene.id).update(
                video_analyzed=True, video_analysis_attempts=0, video_analysis_retry_at=None, video_analysis_error=""
            )
        self.plan = plan  # only once committed: a rolled-back plan must not be reused
        self.analysed += 1
        for change in changes:
            self.by_field[change["field"]] += 1
            self.by_action[change["action"]] += 1

    def _record_failure(self, scene: SceneInput, reason: str):
        from stash.models import Scene

        attempts = min(scene.attempts + 1, MAX_ATTEMPTS)
        Scene.objects.filter(pk=scene.id).update(
            video_analysis_attempts=attempts,
            video_analysis_retry_at=timezone.now() + retry_delay(attempts),
            video_analysis_error=reason[:2000],
        )
        self.failures.append({"scene_id": scene.id, "error": reason})
        logger.info("Video analysis of scene %s failed (attempt %s): %s", scene.id, attempts, reason)

    def _plan_metadata(self) -> dict:
        return {
            "description": f"Video analysis of {len(self.scene_ids)} scenes",
            "analysis_type": "video",
            "analyzer": self.analyzer,
            "settings": asdict(self.options),
            "scene_count": len(self.scene_ids),
        }

    def _finish_plan(self):
        from stash.plans import finish_plan

        finish_plan(
            self.plan,
            {
                "scenes_analyzed": self.analysed,
                "scenes_failed": len(self.failures),
                "total_changes": self.total_changes,
                "completed_at": timezone.now().isoformat(),
            },
        )

    @property
    def total_changes(self) -> int:
        return sum(self.by_field.values())

    def summary_line(self) -> str:
        line = f"Analyzed {self.analysed}/{len(self.scene_ids)} scenes: {self.total_changes} proposed changes"
        if self.failures:
            line += f", {len(self.failures)} failed (retried later)"
        return line

    def result(self) -> dict:
        return {
            "plan_id": self.plan.pk if self.plan is not None else None,
            "analyzer": self.analyzer,
            "scenes_requested": len(self.scene_ids),
            "scenes_analyzed": self.analysed,
            "scenes_failed": len(self.failures),
            "scenes_missing": self.missing,
            "failures": self.failures[:MAX_LISTED_FAILURES],
            "total_changes": self.total_changes,
            "summary": {"total": self.total_changes, "by_field": self.by_field, "by_action": self.by_action},
        }
