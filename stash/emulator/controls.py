"""Test controls: what a test or benchmark does "in Stash" or to Stash, over HTTP or in-process.

`POST /_emulator/<name>` with a JSON object body runs a control and answers its JSON result (400 for a
bad body, 404 for an unknown control or id); `GET /_emulator/state` reads counts, knobs, jobs and the
log. The controls:

- `durations` {scan_seconds, generate_seconds}: how long the next jobs run.
- `fail-next-job` {error, at}: the next job to start ends FAILED with `error` after `at` (0-1) of its run.
- `fail-generation` {scene_ids}: generation "errors" for these scenes; the job still FINISHES.
- `subscriptions` {refuse: bool, legacy_only?: bool}: refuse WebSocket upgrades from now on (true), or
  serve them (false); with legacy_only, speak only the older graphql-ws protocol (older Stash builds).
- `drop-subscriptions`: cut every open jobsSubscribe socket (no close frame), as a network cut does.
- `restart`: Stash restarted: the queue, the history and the running job are gone, ids count from 1;
  the subscription sockets are cut.
- `clock` {now} freezes Stash's clock (null: real time again), {advance_seconds} moves a frozen clock.
- `scan` / `generate` {the ScanMetadataInput / GenerateMetadataInput fields}: a job started from Stash's UI.
- `seed` {scenes, seed} or {demo: true}: add a generated library.
- Edits "in Stash": `<kinds>` (create), `<kinds>/<id>` (update), `<kinds>/<id>/delete`, for kinds scenes,
  markers, tags, performers, studios, with the entity's attribute names (entities.py; a scene's `files`
  are {path, size, mod_time, fingerprints: {type: value}, ...}). A scene edit stamps its updated_at unless
  the body sets one; a marker edit stamps only the marker, as in Stash.
"""

from dataclasses import asdict, replace

from stash.emulator.seed import seed_demo, seed_library
from stash.emulator.tasks import GenerateTask, ScanTask


def _durations(store, body):
    changes = {k: float(body[k]) for k in ("scan_seconds", "generate_seconds") if body.get(k) is not None}
    if any(v < 0 for v in changes.values()):
        raise ValueError("durations must not be negative")
    with store.lock:
        store.knobs = replace(store.knobs, **changes)
    return {"scan_seconds": store.knobs.scan_seconds, "generate_seconds": store.knobs.generate_seconds}


def _fail_next_job(store, body):
    """The next job to start fails with `error` after getting `at` (0-1) of the way; error null clears it."""
    with store.lock:
        store.knobs = replace(
            store.knobs,
            fail_next_job=body.get("error", "emulated failure"),
            fail_next_job_at=float(body.get("at", 0.5)),
        )
    return {"fail_next_job": store.knobs.fail_next_job}


def _fail_generation(store, body):
    """Generation "errors" for these scenes from now on (an empty list clears it); the job still finishes."""
    ids = frozenset(int(i) for i in body.get("scene_ids") or ())
    with store.lock:
        store.knobs = replace(store.knobs, failing_generation=ids)
    return {"failing_generation": sorted(ids)}


def _subscriptions(store, body):
    if not isinstance(body.get("refuse"), bool):
        raise ValueError("refuse must be true or false")
    legacy = body.get("legacy_only", store.knobs.legacy_subscriptions_only)
    if not isinstance(legacy, bool):
        raise ValueError("legacy_only must be true or false")
    with store.lock:
        store.knobs = replace(store.knobs, refuse_subscriptions=body["refuse"], legacy_subscriptions_only=legacy)
    return {
        "refuse_subscriptions": store.knobs.refuse_subscriptions,
        "legacy_subscriptions_only": store.knobs.legacy_subscriptions_only,
    }


def _drop_subscriptions(store, body):
    return {"dropped": store.jobs.drop_subscriptions()}


def _restart(store, body):
    store.jobs.restart()
    store.note("info", "restarted: job queue and history dropped")
    return {"restarted": True}


def _clock(store, body):
    store.set_clock(body.get("now"), float(body.get("advance_seconds") or 0))
    return {"now": store.now_str()}


def _scan(store, body):
    task = ScanTask(body)
    return {"job_id": str(store.jobs.add(task.description, task))}


def _generate(store, body):
    task = GenerateTask(body)
    return {"job_id": str(store.jobs.add(task.description, task))}


def _seed(store, body):
    if body.get("demo"):
        seed_demo(store)
    else:
        seed_library(store, scenes=int(body.get("scenes", 100)), seed=int(body.get("seed", 1)))
    return store.state()


def entity_json(entity) -> dict:
    return asdict(entity)


PLURALS = {"scenes": "scene", "markers": "marker", "tags": "tag", "performers": "performer", "studios": "studio"}

CONTROLS = {
    "durations": _durations,
    "fail-next-job": _fail_next_job,
    "fail-generation": _fail_generation,
    "subscriptions": _subscriptions,
    "drop-subscriptions": _drop_subscriptions,
    "restart": _restart,
    "clock": _clock,
    "scan": _scan,
    "generate": _generate,
    "seed": _seed,
}


def run(store, name: str, body: dict) -> dict:
    """Run a control by its path under /_emulator/ (KeyError when there is no such control)."""
    body = dict(body or {})
    parts = name.strip("/").split("/")
    kind = PLURALS.get(parts[0])
    if kind is None:
        return CONTROLS[name](store, body)
    if len(parts) == 1:
        return entity_json(store.create(kind, **body))
    if len(parts) == 2:
        return entity_json(store.update(kind, parts[1], **body))
    if len(parts) == 3 and parts[2] == "delete":
        return {"deleted": store.delete(kind, parts[1])}
    raise KeyError(name)
