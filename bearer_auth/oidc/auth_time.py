"""When the user last really signed in, in this browser: OpenID Connect's ``auth_time``.

Django records no sign-in time in the session (``last_login`` is the user's
latest sign-in anywhere). :func:`remember_auth_time` receives Django's
``user_logged_in`` and stores the moment in the session that ``login()`` has
just started, so ``max_age`` (OpenID Connect Core §3.1.2.1) is measured for
this browser and the ``auth_time`` claim says when this user authenticated
here. A sign-in without a browser session (the first-party API) is left
alone: it writes no session.
"""

from __future__ import annotations

import time
from typing import Any, Final

from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest

#: The session entry holding the sign-in time (whole seconds since the epoch).
AUTH_TIME_SESSION_KEY: Final = "bearer_auth.auth_time"


def remember_auth_time(*, request: Any, user: Any, **kwargs: Any) -> None:
    """``user_logged_in`` receiver: note the time in the session ``login()`` started."""
    session = getattr(request, "session", None)
    if session is None or session.get(SESSION_KEY) != user._meta.pk.value_to_string(user):
        return
    session[AUTH_TIME_SESSION_KEY] = int(time.time())


def session_auth_time(request: HttpRequest) -> int | None:
    """When the signed-in user of ``request`` authenticated in this browser; ``None`` if unknown.

    Unknown for a session started before bearer_auth noted the time: a
    ``max_age`` request then asks the user to sign in again.
    """
    noted = request.session.get(AUTH_TIME_SESSION_KEY)
    if isinstance(noted, int) and not isinstance(noted, bool):
        return noted
    return None


def auth_time_claim(request: HttpRequest) -> int:
    """The ``auth_time`` of an ID token issued for ``request``'s session.

    The noted time; for an older session, the user's ``last_login`` (their
    latest sign-in anywhere), or now when there is none.
    """
    noted = session_auth_time(request)
    if noted is not None:
        return noted
    last_login = getattr(request.user, "last_login", None)
    return int(last_login.timestamp()) if last_login is not None else int(time.time())
