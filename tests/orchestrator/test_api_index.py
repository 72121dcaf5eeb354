"""The API's front door: /api/ lists the endpoints and links the docs; the schema shows in a browser."""

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    client = APIClient()
    client.force_authenticate(User.objects.create_user("index-api", password="correct-horse-battery"))
    return client


def test_the_index_links_the_docs_and_lists_every_endpoint_with_its_methods(api):
    body = api.get("/api/", HTTP_ACCEPT="application/json").json()
    assert body["docs"].endswith("/api/docs/") and body["schema"].endswith("/api/schema/")
    endpoints = {e["path"]: e for e in body["endpoints"]}
    assert endpoints["/api/jobs/"]["methods"] == ["GET", "POST"]
    assert {"GET", "PATCH"} <= set(endpoints["/api/daemons/{name}/"]["methods"])
    assert endpoints["/api/scenes/"]["methods"] == ["GET"]
    for path in ("/api/scenes/", "/api/scenes/{id}/", "/api/downloads/", "/api/plans/{id}/"):
        assert path in endpoints
    # Every endpoint listed is in the schema, with the same path spelling.
    schema = api.get("/api/schema/?format=json").json()["paths"]
    missing = [p for p in endpoints if p not in schema and p not in ("/api/schema/", "/api/docs/")]
    assert missing == []


def test_the_index_needs_a_login():
    assert APIClient().get("/api/").status_code == 401


def test_a_browser_gets_the_schema_as_json_to_read_not_a_yaml_download(api):
    browser_accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = api.get("/api/schema/", HTTP_ACCEPT=browser_accept)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert "attachment" not in response.get("Content-Disposition", "")
    assert api.get("/api/schema/?format=yaml").content.startswith(b"openapi:")


def test_the_schema_has_the_real_shapes_of_the_new_endpoints(api):
    schema = api.get("/api/schema/?format=json").json()
    scenes = schema["paths"]["/api/scenes/"]["get"]
    assert {"generated", "video_analyzed", "analyzed", "tag", "q"} <= {p["name"] for p in scenes["parameters"]}
    detail = schema["components"]["schemas"]["SceneDetail"]["properties"]
    assert {"markers", "files", "tags", "studio"} <= set(detail)
    assert "torrent_outcomes" in schema["components"]["schemas"]["DownloadDetail"]["properties"]


def test_every_page_links_the_api_docs_in_the_nav(client):
    client.force_login(User.objects.create_user("nav-reader", password="correct-horse-battery"))
    html = client.get("/daemons/").content.decode()
    nav = html[html.index('<nav class="nav"') : html.index("</nav>")]
    assert 'href="/api/docs/">API</a>' in nav


def test_the_plan_detail_schema_has_the_scenes_grouped_with_their_changes(api):
    schema = api.get("/api/schema/?format=json").json()
    ref = schema["paths"]["/api/plans/{id}/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    detail = schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[-1]]["properties"]
    group = schema["components"]["schemas"][detail["scenes"]["items"]["$ref"].rsplit("/", 1)[-1]]["properties"]
    assert {"scene_id", "scene_title", "scene_path", "in_mirror", "changes"} <= set(group)
