"""Is a live socket's login still valid? The same three checks Django makes on every HTTP request.

A socket authenticates once, at its handshake; this re-asks later, from the session store (not the
socket's scope, which is a copy from the handshake): the session still exists and has not expired (logout
deletes it), its user is active (ModelBackend.get_user refuses inactive users), and the session's auth
hash still matches the user's (a password change makes it stale; `django.contrib.auth.get_user`
compares and flushes a stale session, as a page request would).
"""

from importlib import import_module
from types import SimpleNamespace

from django.conf import settings
from django.contrib.auth import get_user


def still_signed_in(session_key: str | None, user_pk) -> bool:
    if not session_key:
        return False
    # Loading the session (get_user reads it) finds nothing for a deleted or expired session: the
    # user is then anonymous. Two queries per check: the session row, the user row.
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = get_user(SimpleNamespace(session=store))  # get_user reads request.session only
    return user.is_authenticated and user.is_active and user.pk == user_pk
