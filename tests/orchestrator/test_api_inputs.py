"""Input every API and JSON form shares: JSON nested too deep, and paging values that are not numbers."""

import pytest

DEEP = "[" * 5000 + "]" * 5000
DEEP_OBJECT = '{"a": ' * 5000 + "1" + "}" * 5000


@pytest.mark.parametrize(
    "method,path",
    [
        ("patch", "/api/settings/stash/"),
        ("put", "/api/settings/video-analysis/"),
        ("post", "/api/jobs/"),
        ("patch", "/api/daemons/test/"),
        ("post", "/api/settings/stash/test/"),
    ],
)
@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT, '{"parameters": ' + DEEP + "}"])
def test_deeply_nested_json_is_a_clear_400(browser, daemon, method, path, body):
    response = getattr(browser, method)(path, body, content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    assert "nested deeper than" in response.json()["detail"]


def test_nesting_within_the_limit_is_still_parsed(browser, daemon):
    body = '{"type": "test", "parameters": {"steps": 1, "x": ' + "[" * 20 + "]" * 20 + "}}"
    response = browser.post("/api/jobs/", body, content_type="application/json")
    assert response.status_code == 400  # the test job has no "x": the schema answers, not the parser
    assert "nested" not in response.content.decode()


def test_the_raw_configuration_editor_refuses_deep_json_with_a_message(browser, daemon):
    from daemons.models import Daemon

    before = Daemon.objects.get(name="test").configuration
    response = browser.post("/daemons/test/config/raw/", {"configuration": DEEP_OBJECT})
    assert response.status_code == 400
    assert "nested deeper than" in response.content.decode()
    assert Daemon.objects.get(name="test").configuration == before


@pytest.mark.parametrize("path", ["/api/jobs/", "/api/daemons/test/logs/", "/api/daemons/test/history/", "/api/plans/"])
@pytest.mark.parametrize("query", ["limit=abc", "limit=-1", "limit=0", "limit=1.5", "offset=abc", "offset=-3"])
def test_paging_values_that_are_not_counts_are_a_400(browser, daemon, path, query):
    response = browser.get(f"{path}?{query}")
    assert response.status_code == 400, response.content[:300]
    name = query.split("=")[0]
    assert name in response.json()


def test_good_paging_values_still_page(browser, daemon):
    assert browser.get("/api/jobs/?limit=5&offset=0").status_code == 200
    assert browser.get("/api/daemons/test/logs/?limit=500").status_code == 200


# --- the settings APIs: unknown keys and wrong types are refused, like the jobs and daemons APIs ---------


def _stash_row():
    from stash.connection.models import StashSettings

    row = StashSettings.load()
    return (row.url, row.api_key, row.read_timeout, row.connect_timeout, row.scan_paths, row.path_mappings)


def _analysis_row():
    from stash.analysis.models import VideoAnalysisSettings

    row = VideoAnalysisSettings.load()
    return (row.tagger_url, row.tagger_timeout_seconds, row.max_markers, row.frame_interval, row.tagger_path_mappings)


SETTINGS_APIS = [("/api/settings/stash/", _stash_row), ("/api/settings/video-analysis/", _analysis_row)]


@pytest.mark.parametrize("path,snapshot", SETTINGS_APIS)
def test_settings_apis_refuse_unknown_keys(browser, path, snapshot):
    before = snapshot()
    response = browser.patch(path, {"read_timout": 1, "max_marker": 3}, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json() == {"read_timout": ["Unknown field."], "max_marker": ["Unknown field."]}
    assert snapshot() == before


@pytest.mark.parametrize(
    "path,snapshot,body,field",
    [
        ("/api/settings/stash/", _stash_row, {"api_key": 12345}, "api_key"),
        ("/api/settings/stash/", _stash_row, {"url": 7}, "url"),
        ("/api/settings/stash/", _stash_row, {"read_timeout": "11"}, "read_timeout"),
        ("/api/settings/stash/", _stash_row, {"connect_timeout": True}, "connect_timeout"),
        ("/api/settings/stash/", _stash_row, {"scan_paths": [1]}, "scan_paths"),
        ("/api/settings/stash/", _stash_row, {"scan_paths": "/srv/library"}, "scan_paths"),
        ("/api/settings/stash/", _stash_row, {"path_mappings": [{"local": "/a", "stash": 5}]}, "path_mappings"),
        ("/api/settings/stash/test/", None, {"api_key": 12345}, "api_key"),
        ("/api/settings/stash/test/", None, {"url": 7}, "url"),
        ("/api/settings/video-analysis/", _analysis_row, {"max_markers": "3"}, "max_markers"),
        ("/api/settings/video-analysis/", _analysis_row, {"max_markers": 3.5}, "max_markers"),
        ("/api/settings/video-analysis/", _analysis_row, {"max_markers": False}, "max_markers"),
        ("/api/settings/video-analysis/", _analysis_row, {"frame_interval": "2"}, "frame_interval"),
        ("/api/settings/video-analysis/", _analysis_row, {"tagger_url": 1}, "tagger_url"),
    ],
)
def test_settings_apis_refuse_wrong_types_instead_of_coercing(browser, path, snapshot, body, field):
    before = snapshot() if snapshot else None
    send = browser.post if path.endswith("/test/") else browser.patch
    response = send(path, body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert set(response.json()) == {field}
    if snapshot:
        assert snapshot() == before


def test_settings_apis_still_take_good_values_and_numbers_for_floats(browser):
    response = browser.patch(
        "/api/settings/stash/", {"read_timeout": 12, "connect_timeout": 2.5}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert _stash_row()[2:4] == (12.0, 2.5)
    response = browser.patch(
        "/api/settings/video-analysis/", {"max_markers": 4, "frame_interval": 3}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    # What GET returned can be sent back as it is (read-only fields included).
    body = browser.get("/api/settings/video-analysis/").json()
    assert browser.put("/api/settings/video-analysis/", body, content_type="application/json").status_code == 200


@pytest.mark.parametrize("via", ["page", "api"])
def test_a_deeply_nested_proposed_value_is_refused(browser, via):
    from stash.plans.models import AnalysisPlan, PlanChange

    plan = AnalysisPlan.objects.create(name="Plan")
    change = PlanChange.objects.create(plan=plan, field="tags", action="add", proposed_value=["Kiss_AI"])
    if via == "page":
        response = browser.post(f"/plans/changes/{change.pk}/edit/", {"value": DEEP})
    else:
        body = '{"proposed_value": ' + DEEP + "}"
        response = browser.patch(f"/api/plan-changes/{change.pk}/", body, content_type="application/json")
    assert response.status_code == 400
    assert "nested deeper than" in response.content.decode()
    change.refresh_from_db()
    assert change.proposed_value == ["Kiss_AI"]
