"""The `stash_scan` job: start Stash's metadata scan of library folders and follow it to the end.

Paths are given as this machine sees them (or taken from the Settings page) and translated to the
paths Stash sees with the configured mappings. Cancelling stops the scan in Stash (stopJob) and waits
until Stash confirms it; a scan Stash loses (restart) fails the job instead of hanging it."""

from jobs.types import JobKind
from jobs.types._stash_job import follow
from orchestrator.typed import Field, Schema

PARAMETERS = Schema(
    (
        Field(
            "paths",
            list,
            [],
            "Folders to scan, as this machine sees them (empty: the scan paths from Settings; "
            "if those are empty too, the whole library).",
            max=1000,
        ),
        Field("rescan", bool, False, "Rescan files even if their modification time is unchanged."),
        Field("scanGenerateCovers", bool, True, "Generate covers during the scan."),
        Field("scanGeneratePreviews", bool, True, "Generate previews during the scan."),
        Field("scanGenerateImagePreviews", bool, False, "Generate image previews during the scan."),
        Field("scanGenerateSprites", bool, True, "Generate sprites during the scan."),
        Field("scanGeneratePhashes", bool, True, "Generate perceptual hashes during the scan."),
        Field("scanGenerateThumbnails", bool, False, "Generate image thumbnails during the scan."),
        Field("scanGenerateClipPreviews", bool, False, "Generate image clip previews during the scan."),
    )
)


def scan_input(params: dict) -> dict:
    from stash.connection import config

    flags = {k: v for k, v in params.items() if k.startswith("scanGenerate") or k == "rescan"}
    stash_paths = config.stash_scan_paths(params["paths"])
    return {**flags, **({"paths": stash_paths} if stash_paths else {})}


def check(params: dict) -> dict:
    """The paths' form (absolute, normalised, no NUL), then, if Stash answers quickly, that they lie in
    its library (stash.connection.scan_scope)."""
    from stash.connection import config, scan_scope

    errors = scan_scope.path_form_errors(params["paths"])
    if errors:
        return {"paths": errors}
    params["paths"] = scan_scope.normalised(params["paths"])
    refusal = scan_scope.quick_library_refusal(config.stash_scan_paths(params["paths"]))
    return {"paths": [refusal]} if refusal else {}


class OutsideLibrary(Exception):
    """A path of the scan is not in Stash's library: nothing was sent to Stash."""


def run(ctx, params: dict) -> dict:
    from stash.connection import scan_scope
    from stash.connection.config import get_client

    client = get_client()
    scan = scan_input(params)
    # Checked again now: Stash may not have answered when the job was created, or its library changed.
    refusal = scan_scope.library_refusal(scan.get("paths", []), client) if scan.get("paths") else ""
    if refusal:
        raise OutsideLibrary(refusal)
    where = ", ".join(scan.get("paths", [])) or "the whole library"
    ctx.progress(0, f"Starting Stash scan of {where}")
    stash_job_id = client.metadata_scan(scan)
    return {"paths": scan.get("paths", []), **follow(ctx, client, stash_job_id, "Stash scan")}


KIND = JobKind(
    type="stash_scan",
    label="Stash metadata scan",
    handler=run,
    parameters=PARAMETERS,
    description="Run Stash's metadata scan on library folders and follow it until Stash finishes.",
    max_concurrent=1,
    check=check,
)
