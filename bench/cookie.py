"""Cookie mode (issue 22): first-party sign-in and refresh for a browser app, beside body mode.

A browser app asks for cookie mode with the ``Refresh-Token-Delivery:
cookie`` header and an allowed ``Origin``; the refresh token then travels in
the ``__Host-bearer_refresh`` cookie (``HttpOnly``, ``Secure``,
``SameSite=Strict``), never in a body. Four cases through bearer_auth's
first-party views, the same path as ``signin/bearer`` and
``refresh/bearer``, in a phase of their own so that each pair runs in the
same repeats (the refresh pair in :data:`REFRESH_REPEAT_FACTOR` times as
many as the sign-ins):

- ``signin/bearer-body``: ``POST /auth/token/`` as ``signin/bearer`` sends
  it, over https; the refresh token in the body, no cookie set;
- ``signin/bearer-cookie``: the same request with the header and the API's
  own ``Origin``; no refresh token in the body, the cookie set;
- ``refresh/bearer-body``: ``POST /auth/token/refresh/`` with the refresh
  token in the body, each call spending the one the last call got (as
  ``refresh/bearer``), over https;
- ``refresh/bearer-cookie``: the same endpoint with the header, the
  ``Origin`` and an empty JSON object: the test client's cookie jar sends
  the cookie the last call set, as a browser does, and each answer must set
  its successor.

Body and cookie requests differ by the header, the ``Origin`` and the
cookie alone: all four are https (a ``Secure`` cookie is only sent over
https), from a client of their own, so a body-mode request carries no
cookie. Every answer is checked (:func:`answer_problem`): a cookie-mode
answer that carries ``refresh_token``, sets no rotated cookie, or is not
200, fails the run, as does a body-mode answer that sets a cookie.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Final

from django.test import Client

from bench.cases import CHECK_PASSWORD, _post, bearer_refresh_case, sign_in_refresh_token
from bench.fixtures import PASSWORD, Fixtures
from bench.timing import Case, CaseFailed

#: The API's own origin as Django's test client reaches it over https.
ORIGIN: Final = "https://testserver"
#: What a browser app's ``fetch()`` sends in cookie mode (as ``request.META`` keys).
COOKIE_MODE: Final = {"HTTP_REFRESH_TOKEN_DELIVERY": "cookie", "HTTP_ORIGIN": ORIGIN}
#: The refresh cookie's name with bearer_auth's default settings, over https.
REFRESH_COOKIE: Final = "__Host-bearer_refresh"
SIGN_IN_PATH: Final = "/auth/token/"
REFRESH_PATH: Final = "/auth/token/refresh/"
#: The refresh pair runs four times the phase's repeats (``bench.timing.run_phase``):
#: a refresh is milliseconds, and on a shared machine one repeat's ratio of the
#: two ranges over ±10%; 61 repeats left the median within about ±5% of 1.
REFRESH_REPEAT_FACTOR: Final = 4


def cookie_cases(fixtures: Fixtures) -> list[Case]:
    """Sign-in and refresh, each in body mode and in cookie mode."""
    credentials = {"email": fixtures.user.email, "password": PASSWORD}
    return [
        _post(
            Client(),
            "signin/bearer-body",
            SIGN_IN_PATH,
            credentials,
            max_batch=3,
            probe=CHECK_PASSWORD,
            check=answered("signin/bearer-body", cookie=False),
            secure=True,
        ),
        _post(
            Client(),
            "signin/bearer-cookie",
            SIGN_IN_PATH,
            credentials,
            max_batch=3,
            probe=CHECK_PASSWORD,
            check=answered("signin/bearer-cookie", cookie=True),
            secure=True,
            headers=COOKIE_MODE,
        ),
        replace(
            bearer_refresh_case(
                "refresh/bearer-body",
                Client(),
                sign_in_refresh_token(fixtures, secure=True),
                check=answered("refresh/bearer-body", cookie=False),
                secure=True,
            ),
            repeat_factor=REFRESH_REPEAT_FACTOR,
        ),
        cookie_refresh_case("refresh/bearer-cookie", cookie_signed_in(fixtures)),
    ]


def cookie_signed_in(fixtures: Fixtures) -> Client:
    """A client that signed in in cookie mode: its cookie jar holds the refresh cookie."""
    client = Client()
    response = client.post(
        SIGN_IN_PATH,
        {"email": fixtures.user.email, "password": PASSWORD},
        content_type="application/json",
        secure=True,
        **COOKIE_MODE,  # type: ignore[arg-type]
    )
    problem = answer_problem(response, cookie=True)
    if problem is not None:
        raise CaseFailed(f"cookie-mode sign-in: {problem}")
    return client


def cookie_refresh_case(name: str, client: Client) -> Case:
    """Refresh in cookie mode, the cookie rotated by every call.

    The client's cookie jar sends the cookie the previous answer set; the
    check requires the answer to set another one.
    """
    sent: list[str] = [""]

    def call() -> Any:
        sent[0] = client.cookies[REFRESH_COOKIE].value
        return client.post(
            REFRESH_PATH,
            {},
            content_type="application/json",
            secure=True,
            **COOKIE_MODE,  # type: ignore[arg-type]
        )

    def check(response: Any) -> bool:
        problem = answer_problem(response, cookie=True)
        if problem is None and response.cookies[REFRESH_COOKIE].value == sent[0]:
            problem = "the refresh cookie was not rotated"
        if problem is not None:
            raise CaseFailed(f"{name}: {problem}")
        return True

    return Case(name, call, check, repeat_factor=REFRESH_REPEAT_FACTOR)


def answered(name: str, *, cookie: bool) -> Callable[[Any], bool]:
    """Case ``name``'s check: the answer is a token response of its mode, or the run fails."""

    def check(response: Any) -> bool:
        problem = answer_problem(response, cookie=cookie)
        if problem is not None:
            raise CaseFailed(f"{name}: {problem}")
        return True

    return check


def answer_problem(response: Any, *, cookie: bool) -> str | None:
    """What is wrong with a sign-in's or refresh's answer in its mode; ``None`` if nothing.

    Both modes answer 200 with an access token. Body mode: the refresh token
    in the body, no cookie set. Cookie mode: no refresh token in the body,
    the refresh cookie set ``HttpOnly``, ``Secure``, ``SameSite=Strict``.
    """
    if response.status_code != 200:
        return f"answered {response.status_code} {response.content[:300]!r}"
    body = json.loads(response.content)
    if not body.get("access_token"):
        return f"no access token in {sorted(body)}"
    if not cookie:
        if not body.get("refresh_token"):
            return f"no refresh_token in the body: {sorted(body)}"
        if response.cookies:
            return f"a body-mode answer set cookies: {sorted(response.cookies)}"
        return None
    if "refresh_token" in body:
        return "the body carries refresh_token in cookie mode"
    morsel = response.cookies.get(REFRESH_COOKIE)
    if morsel is None or not morsel.value:
        return f"no {REFRESH_COOKIE} cookie set: {sorted(response.cookies)}"
    flags = (morsel["httponly"], morsel["secure"], morsel["samesite"])
    if flags != (True, True, "Strict"):
        return f"the refresh cookie is not HttpOnly, Secure, SameSite=Strict: {morsel.output()}"
    return None
