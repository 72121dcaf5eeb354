"""The web server (daphne) after its database connections are terminated (issue 14, item 13): the next
request is answered from a fresh connection, without a restart."""

import pytest
import requests
from rest_framework.authtoken.models import Token

from daemons import services
from tests.faults import terminate_backends

pytestmark = pytest.mark.processes


def test_daphne_answers_the_next_request_after_its_connections_are_terminated(daphne_server, user):
    services.ensure_daemon_rows()
    headers = {"Authorization": f"Token {Token.objects.create(user=user).key}"}
    before = requests.get(f"{daphne_server}/api/daemons/", headers=headers, timeout=10)
    assert before.status_code == 200

    assert terminate_backends() >= 1
    after = requests.get(f"{daphne_server}/api/daemons/", headers=headers, timeout=10)
    assert after.status_code == 200
    assert after.json() == before.json()
