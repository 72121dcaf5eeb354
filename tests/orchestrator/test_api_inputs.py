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
