"""The Stash GraphQL client: request shape, timeouts, the retry policy and the typed errors."""

import json
import logging
import socket
import threading

import pytest
import requests
import responses

from stash.connection import client as client_module
from stash.connection.client import StashClient, session_for
from stash.connection.config import get_client
from stash.connection.documents import DOCUMENTS
from stash.connection.errors import (
    StashAuthError,
    StashGraphQLError,
    StashNotConfigured,
    StashProtocolError,
    StashServerError,
    StashUnreachable,
)
from tests.conftest import free_port

URL = "http://stash.test:9999"
ENDPOINT = URL + "/graphql"
VERSION = {"version": {"version": "v0.28.1", "hash": "abc123", "build_time": "2025-01-01 00:00:00"}}


def make_client(api_key="", **options):
    client = StashClient(URL + "/", api_key, **options)
    client.sleeps = []
    client.sleep = client.sleeps.append  # record the backoff instead of waiting
    return client


def ok(data):
    return {"json": {"data": data}, "status": 200}


def body(call):
    return json.loads(call.request.body)


# --- request shape -----------------------------------------------------------------------------------


@responses.activate
def test_it_posts_the_named_document_with_variables_and_operation_name():
    responses.post(ENDPOINT, **ok({"findJob": None}))
    make_client().execute("FindJob", {"input": {"id": "7"}})
    (call,) = responses.calls
    assert call.request.url == ENDPOINT
    assert call.request.headers["Content-Type"] == "application/json"
    assert body(call) == {
        "query": DOCUMENTS["FindJob"],
        "variables": {"input": {"id": "7"}},
        "operationName": "FindJob",
    }


@responses.activate
def test_it_sends_the_api_key_header_only_when_a_key_is_set():
    responses.post(ENDPOINT, **ok(VERSION))
    make_client().execute("Version")
    make_client(api_key="  secret-key  ").execute("Version")
    assert "ApiKey" not in responses.calls[0].request.headers
    assert responses.calls[1].request.headers["ApiKey"] == "secret-key"


@responses.activate
def test_every_call_carries_connect_and_read_timeouts():
    responses.post(ENDPOINT, **ok(VERSION))
    make_client().execute("Version")
    make_client(connect_timeout=2, read_timeout=9).execute("Version")
    make_client().execute("Version", connect_timeout=1.5, read_timeout=600)
    timeouts = [call.request.req_kwargs["timeout"] for call in responses.calls]
    assert timeouts == [(5.0, 30.0), (2, 9), (1.5, 600)]


def test_an_unknown_operation_is_a_programming_error():
    with pytest.raises(ValueError, match="NoSuchThing"):
        make_client().execute("NoSuchThing")


# --- retries --------------------------------------------------------------------------------------------


@responses.activate
def test_an_idempotent_query_is_retried_after_a_502_and_succeeds():
    responses.post(ENDPOINT, status=502, body="Bad Gateway")
    responses.post(ENDPOINT, **ok(VERSION))
    client = make_client()
    assert client.version()["hash"] == "abc123"
    assert len(responses.calls) == 2
    assert client.sleeps == [0.5]


@responses.activate
def test_an_idempotent_query_is_retried_after_a_connection_error():
    responses.post(ENDPOINT, body=requests.ConnectionError("connection reset"))
    responses.post(ENDPOINT, **ok({"jobQueue": [{"id": "1"}]}))
    assert make_client().job_queue() == [{"id": "1"}]
    assert len(responses.calls) == 2


@responses.activate
def test_retries_back_off_exponentially_then_raise_the_server_error():
    responses.post(ENDPOINT, status=503, body="down for maintenance")
    client = make_client(attempts=4, backoff=0.5, backoff_max=1.5)
    with pytest.raises(StashServerError, match="HTTP 503") as caught:
        client.execute("FindTags")
    assert caught.value.status == 503
    assert len(responses.calls) == 4
    assert client.sleeps == [0.5, 1.0, 1.5]


@responses.activate
def test_a_429_waits_for_retry_after_within_the_cap():
    responses.post(ENDPOINT, status=429, headers={"Retry-After": "3"})
    responses.post(ENDPOINT, **ok(VERSION))
    client = make_client(backoff_max=4)
    client.version()
    assert client.sleeps == [3.0]


@responses.activate
def test_metadata_scan_is_not_retried_after_a_connection_error():
    responses.post(ENDPOINT, body=requests.ConnectionError("connection reset by peer"))
    client = make_client()
    with pytest.raises(StashUnreachable, match="stash.test"):
        client.metadata_scan({"paths": ["/data"]})
    assert len(responses.calls) == 1
    assert client.sleeps == []


@responses.activate
def test_metadata_generate_is_not_retried_after_a_502():
    responses.post(ENDPOINT, status=502)
    with pytest.raises(StashServerError):
        make_client().metadata_generate({"covers": True})
    assert len(responses.calls) == 1


@responses.activate
def test_a_read_timeout_on_a_create_is_not_retried():
    responses.post(ENDPOINT, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(StashUnreachable, match="did not answer MetadataScan within 30 s"):
        make_client().metadata_scan()
    assert len(responses.calls) == 1


# --- errors ----------------------------------------------------------------------------------------------


@responses.activate
def test_401_without_a_key_says_stash_requires_one_and_is_not_retried():
    responses.post(ENDPOINT, status=401, body="Unauthorized")
    with pytest.raises(StashAuthError, match="Stash requires an API key"):
        make_client().version()
    assert len(responses.calls) == 1


@responses.activate
def test_401_with_a_key_says_stash_rejected_it():
    responses.post(ENDPOINT, status=401)
    with pytest.raises(StashAuthError, match="Stash rejected the API key") as caught:
        make_client(api_key="wrong-key-123456").version()
    assert "wrong-key-123456" not in str(caught.value)
    assert len(responses.calls) == 1


@responses.activate
def test_graphql_errors_carry_every_message_and_are_not_retried():
    errors = [{"message": "scene not found", "path": ["findScene"]}, {"message": "second problem"}]
    responses.post(ENDPOINT, json={"errors": errors, "data": None})
    with pytest.raises(StashGraphQLError) as caught:
        make_client().execute("FindScenes")
    assert caught.value.messages == ["scene not found", "second problem"]
    assert str(caught.value) == "scene not found; second problem"
    assert len(responses.calls) == 1


@responses.activate
def test_a_422_validation_failure_is_a_graphql_error():
    responses.post(
        ENDPOINT,
        status=422,
        json={"errors": [{"message": 'Cannot query field "nope" on type "Query".'}], "data": None},
    )
    with pytest.raises(StashGraphQLError, match="Cannot query field") as caught:
        make_client().execute("Version")
    assert caught.value.messages == ['Cannot query field "nope" on type "Query".']
    assert len(responses.calls) == 1


@responses.activate
def test_a_body_that_is_not_json_is_a_protocol_error():
    responses.post(ENDPOINT, body="<html>Welcome to nginx</html>", content_type="text/html")
    with pytest.raises(StashProtocolError, match="not JSON"):
        make_client().version()


@responses.activate
def test_json_without_data_is_a_protocol_error():
    responses.post(ENDPOINT, json={"hello": "world"})
    with pytest.raises(StashProtocolError, match="without data"):
        make_client().version()


@responses.activate
def test_a_404_page_asks_whether_this_is_stash():
    responses.post(ENDPOINT, status=404, body="404 page not found")
    with pytest.raises(StashProtocolError, match="is this Stash's address"):
        make_client().version()


def test_a_closed_port_is_unreachable_and_names_the_url():
    url = f"http://127.0.0.1:{free_port()}"
    client = StashClient(url, attempts=2)
    client.sleep = lambda seconds: None
    with pytest.raises(StashUnreachable) as caught:
        client.version()
    assert url in str(caught.value)
    assert "refused" in str(caught.value).lower()


def test_an_unknown_host_names_the_url_and_the_cause():
    with pytest.raises(StashUnreachable, match=r"stash\.invalid") as caught:
        StashClient("http://stash.invalid:9999", attempts=1, connect_timeout=2).version()
    assert "resolve" in str(caught.value).lower() or "name" in str(caught.value).lower()


def test_a_server_that_never_answers_hits_the_read_timeout():
    with socket.socket() as listener:  # accepts connections (the kernel does) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(5)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with pytest.raises(StashUnreachable, match="did not answer Version within 0.3 s"):
            StashClient(url, attempts=1, read_timeout=0.3).version()


@responses.activate
def test_a_failed_call_is_logged_with_its_operation_name(caplog):
    responses.post(ENDPOINT, status=401)
    with caplog.at_level(logging.WARNING, logger="stash.connection.client"), pytest.raises(StashAuthError):
        make_client().execute("FindStudios")
    assert "FindStudios" in caplog.text


# --- helpers -------------------------------------------------------------------------------------------


@responses.activate
def test_typed_helpers_unwrap_their_fields():
    responses.post(ENDPOINT, **ok({"metadataScan": "12"}))
    responses.post(ENDPOINT, **ok({"metadataGenerate": 13}))
    responses.post(ENDPOINT, **ok({"findJob": None}))
    responses.post(ENDPOINT, **ok({"findJob": {"id": "12", "status": "RUNNING"}}))
    responses.post(ENDPOINT, **ok({"jobQueue": None}))
    responses.post(ENDPOINT, **ok({"stopJob": True}))
    client = make_client()
    assert client.metadata_scan({"paths": ["/data"]}) == "12"
    assert client.metadata_generate({"covers": True}) == "13"
    assert client.find_job(99) is None
    assert client.find_job("12") == {"id": "12", "status": "RUNNING"}
    assert client.job_queue() == []
    assert client.stop_job(12) is True
    sent = [body(call) for call in responses.calls]
    assert sent[0]["variables"] == {"input": {"paths": ["/data"]}}
    assert sent[2]["variables"] == {"input": {"id": "99"}}
    assert sent[5]["variables"] == {"job_id": "12"}


# --- sessions --------------------------------------------------------------------------------------------


def test_one_session_per_url_and_key_shared_across_threads():
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(session_for("http://a:1", "k"))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(s) for s in seen}) == 1
    assert session_for("http://a:1", "other") is not seen[0]
    assert StashClient("http://a:1/", "k").session is seen[0]


def test_the_session_cache_stays_small():
    first = session_for("http://first:1", "")
    for n in range(client_module.MAX_SESSIONS):
        session_for(f"http://other-{n}:1", "")
    assert session_for("http://first:1", "") is not first


# --- get_client ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_get_client_uses_the_environment_first(settings):
    settings.STASH_URL = "http://env-stash:9999/"
    settings.STASH_API_KEY = "env-key"
    client = get_client()
    assert (client.url, client.api_key) == ("http://env-stash:9999", "env-key")
    assert (client.connect_timeout, client.read_timeout) == (5.0, 30.0)


@pytest.mark.django_db
def test_get_client_without_any_stash_says_how_to_configure_one(monkeypatch, settings):
    settings.STASH_URL = settings.STASH_API_KEY = ""
    monkeypatch.delenv("STASH_DEMO_URL", raising=False)
    with pytest.raises(StashNotConfigured, match="Settings page"):
        get_client()
