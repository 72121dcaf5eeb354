"""The Stash emulator (stash/emulator/), driven over real HTTP like Stash: its schema agrees with Stash's,
every document the project sends runs on it, and it keeps Stash's semantics (job queue, time strings,
filters, edits made "in Stash" through the test controls)."""

import re
import sys
import time
from datetime import datetime
from types import SimpleNamespace

import pytest
import requests
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
)

from stash.connection.documents import DOCUMENTS
from stash.emulator import EmulatorServer, Store, seed_library
from stash.emulator.schema import schema as emulator_schema
from tests.conftest import ROOT, free_port, wait_for
from tests.stash_schema import load_schema

STASH_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d([+-]\d\d:\d\d|Z)$")
STASH_TIME_NANO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?([+-]\d\d:\d\d|Z)$")
ENDED = {"FINISHED", "CANCELLED", "FAILED"}


def _serve(store):
    server = EmulatorServer(store)
    url = server.start()
    return server, url


@pytest.fixture
def emulator():
    store = Store(scan_seconds=0.3, generate_seconds=0.3)
    seed_library(store, scenes=40, seed=3)
    server, url = _serve(store)
    yield SimpleNamespace(store=store, url=url)
    server.stop()


def gql(url: str, query: str, variables: dict | None = None, **request) -> requests.Response:
    name = query if query in DOCUMENTS else None
    body = {"query": DOCUMENTS[name] if name else query, "variables": variables or {}}
    if name:
        body["operationName"] = name
    return requests.post(f"{url}/graphql", json=body, timeout=10, **request)


def data(url: str, query: str, variables: dict | None = None) -> dict:
    answer = gql(url, query, variables)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "errors" not in body, body
    return body["data"]


def control(url: str, path: str, **body) -> dict:
    answer = requests.post(f"{url}/_emulator/{path}", json=body, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def find_job(url: str, job_id) -> dict | None:
    return data(url, "FindJob", {"input": {"id": str(job_id)}})["findJob"]


def wait_ended(url: str, job_id, timeout=10.0) -> dict:
    return wait_for(lambda: (j := find_job(url, job_id)) and j["status"] in ENDED and j, timeout, message="job end")


def scene_ids(url: str, scene_filter: dict | None = None, **find_filter) -> list[int]:
    variables = {"filter": {"per_page": -1, **find_filter}, "scene_filter": scene_filter}
    return [int(s["id"]) for s in data(url, "FindSceneIds", variables)["findScenes"]["scenes"]]


# --- the schema ----------------------------------------------------------------------------------


def _real_schema():
    return load_schema()


def test_every_type_and_field_the_emulator_serves_exists_in_stash_with_the_same_type():
    real = _real_schema()
    checked = 0
    for name, ours in emulator_schema().type_map.items():
        if name.startswith("__"):
            continue
        theirs = real.type_map.get(name)
        assert theirs is not None, f"type {name} is not in Stash's schema"
        assert type(theirs) is type(ours), f"{name}: {type(ours).__name__} here, {type(theirs).__name__} in Stash"
        if isinstance(ours, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in ours.fields.items():
                real_field = theirs.fields.get(field_name)
                assert real_field is not None, f"{name}.{field_name} is not in Stash's schema"
                assert str(field.type) == str(real_field.type), f"{name}.{field_name}: type differs"
                for arg_name, arg in field.args.items():
                    real_arg = real_field.args.get(arg_name)
                    assert real_arg is not None, f"{name}.{field_name}({arg_name}) is not in Stash's schema"
                    assert str(arg.type) == str(real_arg.type), f"{name}.{field_name}({arg_name}): type differs"
                    checked += 1
                checked += 1
        elif isinstance(ours, GraphQLInputObjectType):
            for field_name, field in ours.fields.items():
                real_field = theirs.fields.get(field_name)
                assert real_field is not None, f"input {name}.{field_name} is not in Stash's schema"
                assert str(field.type) == str(real_field.type), f"input {name}.{field_name}: type differs"
                checked += 1
        elif isinstance(ours, GraphQLEnumType):
            assert set(ours.values) <= set(theirs.values), f"enum {name} has values Stash does not"
        else:
            assert isinstance(ours, GraphQLScalarType)
    assert checked > 150


def test_every_document_the_project_sends_runs_without_errors(emulator, tmp_path):
    variables = {
        "FindJob": {"input": {"id": "1"}},
        "MetadataScan": {"input": {"paths": [str(tmp_path)], "rescan": False}},
        "MetadataGenerate": {"input": {"covers": True, "phashes": True, "sceneIDs": ["1"]}},
        "StopJob": {"job_id": "1"},
        "FindScene": {"id": "1"},
        "SceneUpdate": {"input": {"id": "1", "title": "Retitled", "tag_ids": ["1"], "studio_id": None}},
        "FindTagsByName": {"name": "Outdoor"},
        "FindPerformersByName": {"name": "Document_check"},
        "FindStudiosByName": {"name": "%"},
        "FindTagsByAlias": {"name": "%"},
        "FindStudiosByAlias": {"name": "%"},
        "TagCreate": {"input": {"name": "Document check tag"}},
        "PerformerCreate": {"input": {"name": "Document check performer"}},
        "StudioCreate": {"input": {"name": "Document check studio"}},
        "SceneMarkerCreate": {"input": {"scene_id": "1", "title": "Check", "seconds": 1.5, "primary_tag_id": "1"}},
        "SceneMarkerDestroy": {"id": "1"},
    }
    seen_job = False
    for name in ("MetadataScan", *[n for n in DOCUMENTS if n != "MetadataScan"]):
        answer = gql(emulator.url, name, variables.get(name, {"filter": {"per_page": 5, "sort": "updated_at"}}))
        assert answer.status_code == 200, (name, answer.text)
        body = answer.json()
        assert "errors" not in body and body["data"], (name, body)
        seen_job = seen_job or (name == "FindJob" and body["data"]["findJob"]["id"] == "1")
    assert seen_job


def test_scene_data_has_stash_shapes(emulator):
    scenes = data(emulator.url, "FindScenes", {"filter": {"per_page": 40}})["findScenes"]["scenes"]
    assert len(scenes) == 40
    for scene in scenes:
        assert scene["id"].isdigit() and STASH_TIME.match(scene["updated_at"]) and STASH_TIME.match(scene["created_at"])
        assert scene["paths"]["screenshot"].startswith(f"{emulator.url}/scene/{scene['id']}/screenshot")
        assert scene["files"], "every seeded scene has a file"
        assert {fp["type"] for fp in scene["files"][0]["fingerprints"]} >= {"oshash", "md5"}
        primary = emulator.store.scenes[int(scene["id"])].files[0]
        assert scene["files"][0]["path"] == primary.path  # the primary file first
        seconds = [m["seconds"] for m in scene["scene_markers"]]
        assert seconds == sorted(seconds)
    assert any(s["scene_markers"] for s in scenes) and any(s["studio"] for s in scenes)
    cover = requests.get(scenes[0]["paths"]["screenshot"], timeout=5)
    assert cover.status_code == 200 and cover.headers["Content-Type"] == "image/svg+xml"


# --- requests Stash refuses ----------------------------------------------------------------------


def test_invalid_documents_and_variables_get_422_like_gqlgen(emulator):
    unknown = gql(emulator.url, "{ findScenes { nope } }")
    assert unknown.status_code == 422
    assert "Cannot query field 'nope'" in unknown.json()["errors"][0]["message"]
    assert unknown.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    unparsable = gql(emulator.url, "query {")
    assert unparsable.status_code == 422
    assert unparsable.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    wrong_variable = gql(emulator.url, "FindScenes", {"filter": {"per_page": "many"}})
    assert wrong_variable.status_code == 422 and wrong_variable.json()["data"] is None
    # A filter the emulator does not implement is refused, not silently ignored.
    unemulated = {"scene_filter": {"o_counter": {"value": 1, "modifier": "EQUALS"}}}
    assert gql(emulator.url, "FindSceneIds", unemulated).status_code == 422


def test_resolver_errors_are_200_with_a_path(emulator):
    body = gql(emulator.url, "FindScenes", {"filter": {"sort": "bogus"}}).json()
    assert body["data"] is None and body["errors"][0] == {"message": "invalid sort: bogus", "path": ["findScenes"]}
    body = gql(emulator.url, "FindScenes", {"ids": ["1", "99999"]}).json()
    assert body["errors"][0]["message"] == "scene with id 99999 not found"


def test_api_key_is_required_when_configured():
    server, url = _serve(Store(api_key="s3cret"))
    try:
        assert gql(url, "Version").status_code == 401
        assert gql(url, "Version", headers={"ApiKey": "wrong"}).status_code == 401
        assert gql(url, "Version", headers={"ApiKey": "s3cret"}).status_code == 200
        answer = requests.post(f"{url}/graphql?apikey=s3cret", json={"query": DOCUMENTS["Version"]}, timeout=5)
        assert answer.status_code == 200 and answer.json()["data"]["version"]["version"]
    finally:
        server.stop()


# --- paging, filters, time strings ---------------------------------------------------------------


def test_paging_follows_stash_rules(emulator):
    def count_and_page(**find_filter):
        result = data(emulator.url, "FindSceneIds", {"filter": find_filter or None})["findScenes"]
        return result["count"], [int(s["id"]) for s in result["scenes"]]

    assert count_and_page() == (40, list(range(1, 26)))  # no filter: 25 rows, no ORDER BY (id order)
    assert count_and_page(per_page=-1)[1] == list(range(1, 41))
    assert count_and_page(per_page=15, page=3)[1] == list(range(31, 41))
    ids = count_and_page(per_page=-1, sort="updated_at", direction="DESC")[1]
    stamps = [emulator.store.scenes[i].updated_at for i in ids]
    assert stamps == sorted(stamps, reverse=True)
    found = data(emulator.url, "FindScenes", {"ids": ["7", "3"], "filter": {"per_page": 1}})["findScenes"]
    assert [s["id"] for s in found["scenes"]] == ["7", "3"]  # ids: Stash's FindMany, no paging


def test_per_page_is_capped_at_1000():
    store = Store()
    seed_library(store, scenes=1200, seed=1)
    server, url = _serve(store)
    try:
        result = data(url, "FindSceneIds", {"filter": {"per_page": 5000}})["findScenes"]
        assert result["count"] == 1200 and len(result["scenes"]) == 1000
    finally:
        server.stop()


def test_times_are_stash_strings_in_its_time_zone():
    store = Store(zone="UTC", generate_seconds=0)
    seed_library(store, scenes=3, seed=1)
    server, url = _serve(store)
    try:
        scene = data(url, "FindScenes", {"filter": {"per_page": 1}})["findScenes"]["scenes"][0]
        assert STASH_TIME.match(scene["updated_at"]) and scene["updated_at"].endswith("Z")
        job_id = data(url, "MetadataGenerate", {"input": {"covers": True}})["metadataGenerate"]
        job = wait_ended(url, job_id)
        for key in ("addTime", "startTime", "endTime"):
            assert STASH_TIME_NANO.match(job[key]) and job[key].endswith("Z"), job[key]
    finally:
        server.stop()
    local = Store()  # the default zone is not UTC, so code that assumes UTC shows up in tests
    assert re.search(r"-0[78]:00$", local.now_str())


def test_timestamp_criteria_are_compared_as_strings_in_stash_time_zone(emulator):
    url = emulator.url
    control(url, "scenes/1", updated_at="2025-11-02T01:30:00-07:00")  # PDT, 08:30 UTC
    control(url, "scenes/2", updated_at="2025-11-02T01:10:00-08:00")  # PST, 09:10 UTC: later, yet sorts first
    # Stash compares the criterion's text with its stored text, as Stash really does.
    after = {"updated_at": {"value": "2025-11-02T01:20:00-07:00", "modifier": "GREATER_THAN"}}
    matching = scene_ids(url, after)
    assert 1 in matching and 2 not in matching
    # A UTC value sent to a Stash in another zone compares wrongly: the emulator does not hide that.
    utc = {"updated_at": {"value": "2025-11-02T08:20:00Z", "modifier": "GREATER_THAN"}}
    assert not {1, 2} & set(scene_ids(url, utc))
    ordered = scene_ids(url, None, sort="updated_at")
    assert ordered.index(2) < ordered.index(1)
    between = {
        "updated_at": {
            "value": "2025-11-02T01:00:00-08:00",
            "value2": "2025-11-02T01:40:00-07:00",
            "modifier": "BETWEEN",
        }
    }
    assert {1, 2} <= set(scene_ids(url, between))
    equals = {"updated_at": {"value": "2025-11-02T01:30:00-07:00", "modifier": "EQUALS"}}
    assert scene_ids(url, equals) == [1]
    with pytest.raises(AssertionError):  # not a time Stash can read: an error, as in Stash
        scene_ids(url, {"updated_at": {"value": "yesterday", "modifier": "GREATER_THAN"}})


def test_is_missing_and_interactive_filters(emulator):
    store, url = emulator.store, emulator.url
    no_cover = {s.id for s in store.scenes.values() if not s.has_cover}
    no_phash = {s.id for s in store.scenes.values() if any(f.fingerprint("phash") is None for f in s.files)}
    assert no_cover and set(scene_ids(url, {"is_missing": "cover"})) == no_cover
    assert set(scene_ids(url, {"is_missing": "phash"})) == no_phash
    control(url, "scenes/5", interactive=True, interactive_speed=None)
    speedless = {"interactive": True, "interactive_speed": {"value": 0, "modifier": "IS_NULL"}}
    assert 5 in scene_ids(url, speedless)
    both = {"is_missing": "cover", "OR": {"is_missing": "phash"}}
    assert set(scene_ids(url, both)) == no_cover | no_phash


def test_name_criteria_are_case_insensitive_like_with_wildcards(emulator):
    url = emulator.url
    for name in ("Blue_Sky", "BlueXSky", "blue sky"):
        control(url, "tags", name=name)

    def names(value, modifier="EQUALS"):
        variables = {"filter": {"per_page": -1}, "tag_filter": {"name": {"value": value, "modifier": modifier}}}
        return {t["name"] for t in data(url, "FindTags", variables)["findTags"]["tags"]}

    assert names("blue_sky") == {"Blue_Sky", "BlueXSky", "blue sky"}  # `_` matches any one character
    assert names("BLUE%") == {"Blue_Sky", "BlueXSky", "blue sky"}
    assert names("bluexsky") == {"BlueXSky"}
    assert "Blue_Sky" not in names("blue_sky", "NOT_EQUALS")


def test_alias_criteria_match_any_alias_like_stashs_join(emulator):
    url = emulator.url
    control(url, "tags", name="Hugging", aliases=["Hug AI", "Cuddle"])
    control(url, "tags", name="Hug AI 2")
    control(url, "studios", name="Grand Films", aliases=["Big Studio"])

    def names(operation, value):
        root, field = ("findTags", "tags") if "Tags" in operation else ("findStudios", "studios")
        return {e["name"] for e in data(url, operation, {"name": value})[root][field]}

    assert names("FindTagsByAlias", "hug_ai") == {"Hugging"}  # the alias, not the name "Hug AI 2"
    assert names("FindTagsByAlias", "cuddle") == {"Hugging"}
    assert names("FindTagsByAlias", "Hugging") == set()
    assert names("FindStudiosByAlias", "Big_Studio") == {"Grand Films"}


# --- edits made in Stash -------------------------------------------------------------------------


def test_scene_edits_stamp_updated_at_and_marker_edits_do_not(emulator):
    store, url = emulator.store, emulator.url
    control(url, "clock", now="2026-01-05T14:03:22-08:00")
    before = store.scenes[3].updated_at
    tag = store.scenes[3].tag_ids[0] if store.scenes[3].tag_ids else next(iter(store.tags))
    marker = control(url, "markers", scene_id=3, title="Added in Stash", seconds=12.5, primary_tag_id=tag)
    control(url, "clock", advance_seconds=60)
    control(url, f"markers/{marker['id']}", title="Renamed in Stash")
    control(url, f"markers/{marker['id']}/delete")
    assert store.scenes[3].updated_at == before
    edited = control(url, "scenes/3", title="Renamed scene")
    assert edited["updated_at"] == "2026-01-05T14:04:22-08:00" and edited["title"] == "Renamed scene"
    markers = data(url, "FindSceneMarkers", {"filter": {"per_page": -1}})["findSceneMarkers"]["scene_markers"]
    assert marker["id"] not in {int(m["id"]) for m in markers}


def test_deleting_in_stash_removes_the_scene_and_its_markers(emulator):
    store, url = emulator.store, emulator.url
    victim = next(s for s in store.scenes.values() if s.marker_ids)
    control(url, f"scenes/{victim.id}/delete")
    assert victim.id not in scene_ids(url)
    markers = data(url, "FindSceneMarkers", {"filter": {"per_page": -1}})["findSceneMarkers"]["scene_markers"]
    assert not {m["scene"]["id"] for m in markers} & {str(victim.id)}
    performer = control(url, "performers", name="New Face")
    performers = data(url, "FindPerformers", {"filter": {"per_page": -1}})["findPerformers"]["performers"]
    assert any(p["name"] == "New Face" for p in performers)
    control(url, f"performers/{performer['id']}/delete")
    studio = control(url, "studios", name="Fresh Studio", parent_id=1)
    assert data(url, "FindStudios", {"filter": {"per_page": -1}})["findStudios"]["count"] == len(store.studios)
    assert store.studios[studio["id"]].parent_id == 1
    missing = requests.post(f"{url}/_emulator/scenes/99999", json={"title": "x"}, timeout=5)
    assert missing.status_code == 404


# --- jobs ----------------------------------------------------------------------------------------


def test_jobs_run_one_at_a_time_in_order_with_progress_from_0_to_1(emulator, tmp_path):
    url = emulator.url
    control(url, "durations", scan_seconds=0.5, generate_seconds=0.5)
    ids = [
        data(url, "MetadataScan", {"input": {"paths": [str(tmp_path)]}})["metadataScan"],
        data(url, "MetadataGenerate", {"input": {"covers": True}})["metadataGenerate"],
        data(url, "MetadataGenerate", {"input": {"phashes": True}})["metadataGenerate"],
    ]
    assert ids == ["1", "2", "3"]
    queue = data(url, "JobQueue")["jobQueue"]
    assert [j["description"] for j in queue] == ["Scanning...", "Generating...", "Generating..."]
    assert queue[1]["status"] == "READY" and queue[1]["progress"] == 0
    progress = {i: [] for i in ids}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        queue = data(url, "JobQueue")["jobQueue"] or []  # one request: a consistent snapshot
        assert all(j["status"] == "READY" for j in queue[1:])  # only the oldest job can be running
        assert [j["id"] for j in queue] == sorted(j["id"] for j in queue)
        for job in queue:
            if job["status"] == "RUNNING" and job["progress"] is not None:
                progress[job["id"]].append(job["progress"])
        if not queue:
            break
        time.sleep(0.02)
    jobs = [find_job(url, i) for i in ids]
    assert all(j["status"] == "FINISHED" and j["progress"] == 1 for j in jobs), jobs
    assert data(url, "JobQueue")["jobQueue"] is None  # Stash answers an empty queue with null
    for values in progress.values():
        assert values == sorted(values) and all(0 <= v <= 1 for v in values)
    assert any(0 < v < 1 for values in progress.values() for v in values)
    ended = [datetime.fromisoformat(j["endTime"]) for j in jobs]
    started = [datetime.fromisoformat(j["startTime"]) for j in jobs]
    assert started[1] >= ended[0] and started[2] >= ended[1]


def test_stop_job_cancels_a_ready_job_at_once_and_a_running_one_soon(emulator):
    url = emulator.url
    control(url, "durations", generate_seconds=30)
    first = data(url, "MetadataGenerate", {"input": {"covers": True}})["metadataGenerate"]
    second = data(url, "MetadataGenerate", {"input": {"covers": True}})["metadataGenerate"]
    wait_for(lambda: find_job(url, first)["status"] == "RUNNING", message="the first job to run")
    assert data(url, "StopJob", {"job_id": second})["stopJob"] is True
    assert find_job(url, second)["status"] == "CANCELLED"
    assert [j["id"] for j in data(url, "JobQueue")["jobQueue"]] == [first]
    data(url, "StopJob", {"job_id": first})
    began = time.monotonic()
    job = wait_ended(url, first, timeout=2)
    assert job["status"] == "CANCELLED" and job["endTime"] and time.monotonic() - began < 1.0


def test_only_the_last_ten_ended_jobs_can_be_found(emulator):
    url = emulator.url
    control(url, "durations", generate_seconds=0)
    ids = [data(url, "MetadataGenerate", {"input": {"sceneIDs": []}})["metadataGenerate"] for _ in range(11)]
    wait_ended(url, ids[-1])
    assert find_job(url, ids[0]) is None
    assert all(find_job(url, i)["status"] == "FINISHED" for i in ids[1:])


def test_a_restart_forgets_jobs_and_counts_ids_from_one(emulator):
    url = emulator.url
    control(url, "durations", generate_seconds=30)
    for _ in range(3):
        data(url, "MetadataGenerate", {"input": {"covers": True}})
    scenes_before = len(scene_ids(url))
    control(url, "restart")
    assert data(url, "JobQueue")["jobQueue"] is None
    assert find_job(url, 1) is None
    assert data(url, "MetadataGenerate", {"input": {"covers": True}})["metadataGenerate"] == "1"
    assert len(scene_ids(url)) == scenes_before


def test_a_job_told_to_fail_ends_failed_with_its_error(emulator):
    url = emulator.url
    control(url, "fail-next-job", error="disk full")
    job_id = data(url, "MetadataGenerate", {"input": {"covers": True}})["metadataGenerate"]
    job = wait_ended(url, job_id)
    assert job["status"] == "FAILED" and job["error"] == "disk full"
    job = wait_ended(url, data(url, "MetadataGenerate", {"input": {"covers": True}})["metadataGenerate"])
    assert job["status"] == "FINISHED" and job["error"] is None


def test_scan_finds_new_video_files_on_disk(emulator, tmp_path):
    url, store = emulator.url, emulator.store
    (tmp_path / "sub").mkdir()
    for name in ("a.mp4", "b.MKV", "sub/c.webm", "notes.txt"):
        (tmp_path / name).write_bytes(b"\x01" * 70000)
    before = set(scene_ids(url))
    job = wait_ended(url, data(url, "MetadataScan", {"input": {"paths": [str(tmp_path)]}})["metadataScan"])
    assert job["status"] == "FINISHED"
    new = set(scene_ids(url)) - before
    paths = {store.scenes[i].files[0].path for i in new}
    assert paths == {str(tmp_path / n) for n in ("a.mp4", "b.MKV", "sub/c.webm")}
    assert all(store.scenes[i].files[0].fingerprint("oshash") for i in new)
    assert new <= set(scene_ids(url, {"is_missing": "cover"}))
    stamps = {i: store.scenes[i].updated_at for i in new}
    wait_ended(url, data(url, "MetadataScan", {"input": {"paths": [str(tmp_path)]}})["metadataScan"])
    assert set(scene_ids(url)) - before == new and {i: store.scenes[i].updated_at for i in new} == stamps


def test_generate_makes_covers_and_phashes_except_where_it_fails(emulator):
    url, store = emulator.url, emulator.store
    targets = scene_ids(url, {"is_missing": "cover"})[:3]
    assert len(targets) == 3
    control(url, "fail-generation", scene_ids=[targets[0]])
    variables = {"input": {"covers": True, "phashes": True, "sceneIDs": [str(i) for i in targets]}}
    job = wait_ended(url, data(url, "MetadataGenerate", variables)["metadataGenerate"])
    assert job["status"] == "FINISHED"
    missing = set(scene_ids(url, {"is_missing": "cover"}))
    assert targets[0] in missing and not set(targets[1:]) & missing
    assert all(f.fingerprint("phash") for i in targets[1:] for f in store.scenes[i].files)
    assert any("emulated failure" in line["message"] for line in requests.get(f"{url}/_emulator/state").json()["log"])


# --- the command ---------------------------------------------------------------------------------


@pytest.mark.processes
def test_the_command_serves_a_seeded_library(processes):
    port = free_port()
    proc = processes.manage("stashemulator", "--port", str(port), "--scenes", "30", "--timezone", "UTC")
    url = f"http://127.0.0.1:{port}"

    def version():
        if proc.poll() is not None:
            raise AssertionError("stashemulator exited:\n" + processes.output(proc))
        try:
            return gql(url, "Version").json()["data"]["version"]
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or slow to answer under load
            return None

    assert wait_for(version, timeout=30, message="the emulator to answer")["version"].startswith("v")
    assert data(url, "FindSceneIds", {"filter": {"per_page": 1}})["findScenes"]["count"] == 30
    proc.terminate()
    assert proc.wait(timeout=10) == 0


def test_emulator_package_needs_no_django_models():
    import subprocess

    # A fresh interpreter lists the Django modules that importing the emulator (with its demo media) pulls in.
    code = (
        "import sys, stash.emulator, stash.emulator.demo_media; "
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('django.db'))))"
    )
    root = ROOT
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}
    )
    assert done.returncode == 0, done.stderr
    assert "django.db.models" not in done.stdout.split(), done.stdout


def test_aliases_fragments_directives_and_nested_arguments(emulator):
    query = """
    query Q($withFiles: Boolean!, $kind: String!) {
      first: findScenes(filter: {per_page: 1}) {
        total: count
        scenes {
          __typename
          ... on Scene { sceneId: id }
          ...Files @include(if: $withFiles)
          studio @skip(if: true) { id }
        }
      }
      v: version { version }
    }
    fragment Files on Scene { files { hash: fingerprint(type: $kind) fingerprint(type: "md5") } }
    """
    scene = emulator.store.scenes[1]
    for with_files in (True, False):
        body = data(emulator.url, query, {"withFiles": with_files, "kind": "oshash"})
        first = body["first"]
        assert first["total"] == 40 and body["v"]["version"]
        expected = {"__typename": "Scene", "sceneId": "1"}
        if with_files:
            files = [{"hash": f.fingerprint("oshash"), "fingerprint": f.fingerprint("md5")} for f in scene.files]
            expected["files"] = files
        assert first["scenes"] == [expected]


def test_seeded_times_are_what_stash_would_store(emulator):
    adelaide = Store(zone="Australia/Adelaide")  # a half-hour offset with daylight saving
    seed_library(adelaide, scenes=300, seed=5)
    for store in (emulator.store, adelaide):
        stamps = [t for s in store.scenes.values() for t in (s.created_at, s.updated_at)]
        stamps += [m.updated_at for m in store.markers.values()]
        assert len(stamps) >= 2 * len(store.scenes) > 0
        bad = [t for t in stamps if not STASH_TIME.match(t) or store.time_string(t) != t]
        assert bad == []
    # Adelaide's stamps carry its own offsets, both of them (standard and daylight saving time).
    offsets = {s.updated_at[-6:] for s in adelaide.scenes.values()}
    assert offsets == {"+09:30", "+10:30"}


def test_creating_a_name_that_stashs_like_check_matches_is_refused_like_stash(emulator):
    url = emulator.url
    data(url, "TagCreate", {"input": {"name": "Hug AI"}})
    data(url, "StudioCreate", {"input": {"name": "100 Percent"}})
    refused = gql(url, "TagCreate", {"input": {"name": "hug_ai"}}).json()
    assert refused["errors"][0]["message"] == "tag with name 'hug_ai' already exists"
    refused = gql(url, "StudioCreate", {"input": {"name": "100%"}}).json()
    assert refused["errors"][0]["message"] == "studio with name '100%' already exists"
    # The other way round, `Hug AI` has no wildcard: it does not match `Hug_AI`.
    data(url, "TagCreate", {"input": {"name": "Kiss_AI"}})
    assert data(url, "TagCreate", {"input": {"name": "Kiss AI"}})["tagCreate"]["name"] == "Kiss AI"


def test_plan_mutations_follow_stash_rules(emulator):
    """sceneUpdate stamps the scene; marker create/destroy do not; names are unique ignoring ASCII case."""
    store, url = emulator.store, emulator.url
    control(url, "clock", now="2026-01-05T14:03:22-08:00")
    scene = next(s for s in store.scenes.values() if s.tag_ids)
    before = scene.updated_at
    created = data(url, "TagCreate", {"input": {"name": "Kiss_AI"}})["tagCreate"]
    duplicate = gql(url, "TagCreate", {"input": {"name": "kiss_ai"}}).json()
    assert duplicate["errors"][0]["message"] == "tag with name 'kiss_ai' already exists"
    marker = data(
        url,
        "SceneMarkerCreate",
        {"input": {"scene_id": str(scene.id), "title": "Kiss", "seconds": 83.0, "primary_tag_id": created["id"]}},
    )["sceneMarkerCreate"]
    assert marker["primary_tag"]["name"] == "Kiss_AI" and scene.updated_at == before
    assert data(url, "SceneMarkerDestroy", {"id": marker["id"]})["sceneMarkerDestroy"] is True
    assert scene.updated_at == before
    gone = gql(url, "SceneMarkerDestroy", {"id": marker["id"]}).json()
    assert "not found" in gone["errors"][0]["message"]
    control(url, "clock", advance_seconds=60)
    update = {"id": str(scene.id), "tag_ids": [created["id"]], "studio_id": None, "title": "Renamed"}
    answer = data(url, "SceneUpdate", {"input": update})["sceneUpdate"]
    assert answer["updated_at"] == "2026-01-05T14:04:22-08:00"
    assert (scene.tag_ids, scene.studio_id, scene.title) == ([int(created["id"])], None, "Renamed")
    assert data(url, "FindScene", {"id": "999999"})["findScene"] is None  # findScenes(ids:) would error
    candidates = data(url, "FindTagsByName", {"name": "Kiss_AI"})["findTags"]["tags"]
    assert [t["name"] for t in candidates] == ["Kiss_AI"]
    control(url, "tags", name="KissXAI")
    candidates = data(url, "FindTagsByName", {"name": "Kiss_AI"})["findTags"]["tags"]
    assert sorted(t["name"] for t in candidates) == ["KissXAI", "Kiss_AI"]  # LIKE: the caller picks


def test_edits_are_stamped_with_the_offset_in_force_at_that_instant():
    store = Store(zone="America/Los_Angeles")
    seed_library(store, scenes=3, seed=1)
    store.set_clock("2026-11-01T08:50:00Z")  # the first pass of 01:00-02:00 (PDT)
    first = store.update("scene", 1, title="first pass").updated_at
    store.set_clock(advance_seconds=1800)  # the clocks went back at 09:00Z: the same hour again, in PST
    repeated = store.update("scene", 2, title="repeated hour").updated_at
    store.set_clock("2026-03-08T10:00:05Z")  # just after springing forward
    spring = store.update("scene", 3, title="spring").updated_at
    assert (first, repeated, spring) == (
        "2026-11-01T01:50:00-07:00",
        "2026-11-01T01:20:00-08:00",
        "2026-03-08T03:00:05-07:00",
    )


def test_a_filtered_sorted_query_lists_the_sorted_tables_matching_rows_in_its_order(emulator):
    """Matches are sorted after filtering (or taken from a whole-table order at hand): either way the rows
    and their order are those of ORDER BY <sort>, title, id over the filtered table, NULLs first ascending."""
    url, same = emulator.url, "2026-01-10T10:00:00-08:00"
    for pk, title in ((5, "beta"), (6, "Alpha"), (7, "alpha"), (8, "Beta"), (9, "alpha")):
        control(url, f"scenes/{pk}", title=title, updated_at=same)
    for pk in (10, 11, 12):
        control(url, f"scenes/{pk}", date=None, rating100=None)
    after = {"updated_at": {"value": "2026-01-10T09:00:00-08:00", "modifier": "GREATER_THAN"}}
    also_after = {"AND": after}  # the same rows under another cache key
    for sort in ("updated_at", "title", "date", "rating", "random", "id"):
        for direction in ("ASC", "DESC"):
            filtered_first = scene_ids(url, after, sort=sort, direction=direction)  # no whole-table order yet
            everything = scene_ids(url, None, sort=sort, direction=direction)
            matching = set(scene_ids(url, after))
            assert filtered_first == [pk for pk in everything if pk in matching], (sort, direction)
            assert scene_ids(url, also_after, sort=sort, direction=direction) == filtered_first
    # Ties on updated_at: by title, case-folded, then id, whatever the direction.
    stamped = [pk for pk in scene_ids(url, after, sort="updated_at", direction="DESC") if pk in range(5, 10)]
    assert stamped == [6, 7, 9, 5, 8]
    # NULLs sort as the smallest value: first ascending, last descending, in title order there too.
    scenes = emulator.store.scenes
    for sort, attr in (("date", "date"), ("rating", "rating100")):
        nulls = sorted((pk for pk, s in scenes.items() if getattr(s, attr) is None), key=_title_order(scenes))
        assert {10, 11, 12} <= set(nulls)
        assert scene_ids(url, None, sort=sort, direction="ASC")[: len(nulls)] == nulls
        assert scene_ids(url, None, sort=sort, direction="DESC")[-len(nulls) :] == nulls


def _title_order(scenes):
    return lambda pk: (scenes[pk].title.casefold(), pk)
