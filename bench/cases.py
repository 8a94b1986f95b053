"""The in-process cases: ``authenticate()`` calls, floors, the test client, sign-in, refresh.

Names are ``group/product``; :mod:`bench.report` divides them into ratios.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any
from unittest import mock

import jwt
from django.conf import settings
from django.contrib.auth import base_user, get_user_model
from django.db import connection
from django.test import Client, RequestFactory, override_settings
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import (
    JWTAuthentication,
    JWTStatelessUserAuthentication,
)

from bearer_auth.authentication import BearerTokenAuthentication
from bench.fixtures import (
    ALGORITHMS,
    PASSWORD,
    Fixtures,
    dot_refresh_token,
    oauth_refresh_token,
)
from bench.peers import SimpleJWTRS256Authentication
from bench.timing import Case, Probe

_ORM_PK_SQL = "SELECT {columns} FROM {table} WHERE {pk} = %s"


def _ok(response: Any) -> bool:
    """The default check of a request case: answered 200."""
    return response.status_code == 200  # type: ignore[no-any-return]


def bearer_auth_with(**changes: Any) -> Callable[[], AbstractContextManager[None]]:
    """A context factory: ``BEARER_AUTH`` with ``changes`` for the duration."""

    def context() -> AbstractContextManager[None]:
        return override_settings(BEARER_AUTH={**settings.BEARER_AUTH, **changes})

    return context


#: bearer_auth in ``VERIFY_MODE = "stateless"``.
stateless = bearer_auth_with(VERIFY_MODE="stateless")
#: Without the verified-token cache: every call checks the signature, as a
#: token's first request does ("-verify" cases).
strict_verifying = bearer_auth_with(VERIFIED_TOKEN_CACHE_SIZE=0)
stateless_verifying = bearer_auth_with(VERIFY_MODE="stateless", VERIFIED_TOKEN_CACHE_SIZE=0)


def authenticate_cases(fixtures: Fixtures) -> list[Case]:
    """``authenticate()`` of each class, and the floors under them.

    The bearer_auth cases present one token again and again, as a client does
    until the token expires; the ``-verify`` cases turn the verified-token
    cache off, so each call costs what a token's first use costs.
    """
    bearer = BearerTokenAuthentication()
    cases = [
        *(
            _authenticate(f"auth/bearer-strict-{alg}", bearer, token)
            for alg, token in fixtures.bearer.items()
        ),
        _authenticate(
            "auth/bearer-strict-verify-RS256", bearer, fixtures.bearer["RS256"], strict_verifying
        ),
        *(
            _authenticate(f"auth/bearer-stateless-{alg}", bearer, token, stateless)
            for alg, token in fixtures.bearer.items()
        ),
        *(
            _authenticate(f"auth/bearer-stateless-verify-{alg}", bearer, token, stateless_verifying)
            for alg, token in fixtures.bearer.items()
        ),
        _authenticate("auth/bearer-opaque", BearerTokenAuthentication(), fixtures.opaque),
        _authenticate("auth/simplejwt-HS256", JWTAuthentication(), fixtures.simplejwt_hs256),
        _authenticate(
            "auth/simplejwt-RS256", SimpleJWTRS256Authentication(), fixtures.simplejwt_rs256
        ),
        _authenticate(
            "auth/simplejwt-stateless", JWTStatelessUserAuthentication(), fixtures.simplejwt_hs256
        ),
        _authenticate("auth/dot", OAuth2Authentication(), fixtures.dot),
    ]
    return cases + floor_cases(fixtures)


def floor_cases(fixtures: Fixtures) -> list[Case]:
    """PyJWT's decode of each algorithm, one ORM pk query, a raw SELECT, and decode + query."""
    user_model = get_user_model()
    pk = fixtures.user.pk
    meta = user_model._meta
    sql = _ORM_PK_SQL.format(
        columns=", ".join(connection.ops.quote_name(f.column) for f in meta.concrete_fields),
        table=connection.ops.quote_name(meta.db_table),
        pk=connection.ops.quote_name(meta.pk.column),  # type: ignore[union-attr]
    )

    def decoder(algorithm: str) -> Callable[[], Any]:
        token, key = fixtures.floor_tokens[algorithm], fixtures.floor_keys[algorithm]

        def decode() -> Any:
            return jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=fixtures.audience,
                issuer=fixtures.issuer,
            )

        return decode

    def orm_get() -> Any:
        return user_model.objects.get(pk=pk)

    def raw_select() -> Any:
        with connection.cursor() as cursor:
            cursor.execute(sql, [pk])
            return cursor.fetchone()

    hs256 = decoder("HS256")

    def decode_and_get() -> Any:
        hs256()
        return user_model.objects.get(pk=pk)

    return [
        *(Case(f"floor/pyjwt-{alg}", decoder(alg)) for alg in ("HS256", *ALGORITHMS)),
        Case("floor/orm-get", orm_get),
        Case("floor/raw-select", raw_select, check=lambda row: row is not None),
        Case("floor/pyjwt-HS256+orm-get", decode_and_get),
    ]


def client_cases(fixtures: Fixtures) -> list[Case]:
    """The whole Django + DRF stack through the test client, against a no-auth view."""
    client = Client()
    return [
        _get(client, "client/none", "/api/none/", None),
        _get(client, "client/bearer-strict-RS256", "/api/bearer/", fixtures.bearer["RS256"]),
        _get(
            client,
            "client/bearer-stateless-RS256",
            "/api/bearer/",
            fixtures.bearer["RS256"],
            stateless,
        ),
        _get(client, "client/simplejwt-HS256", "/api/simplejwt/", fixtures.simplejwt_hs256),
        _get(
            client,
            "client/simplejwt-stateless",
            "/api/simplejwt-stateless/",
            fixtures.simplejwt_hs256,
        ),
        _get(client, "client/dot", "/api/dot/", fixtures.dot),
        _get(client, "client/pyjwt-RS256", "/api/pyjwt-rs256/", fixtures.bearer["RS256"]),
    ]


@contextmanager
def _timing_check_password() -> Iterator[list[int]]:
    """While entered, every ``check_password`` of a user appends its duration in ns."""
    durations: list[int] = []
    # base_user imports it from hashers; django-stubs does not re-export it.
    check_password = base_user.check_password  # type: ignore[attr-defined]

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter_ns()
        result = check_password(*args, **kwargs)
        durations.append(time.perf_counter_ns() - started)
        return result

    # AbstractBaseUser.check_password calls this module's name, and
    # ModelBackend (what Django's authenticate() runs) calls that method.
    with mock.patch.object(base_user, "check_password", timed):
        yield durations


#: The password hash inside a sign-in: what its time is judged against.
CHECK_PASSWORD = Probe("check-password", _timing_check_password)


def sign_in_cases(fixtures: Fixtures) -> list[Case]:
    """bearer_auth's and simplejwt's sign-in, and the password check they cannot avoid.

    Each sign-in also times the ``check_password`` it performs (the
    ``…:check-password`` measurements), which :mod:`bench.report` divides
    it by; ``signin/check-password`` is the same check called on its own.
    """
    client = Client()
    user = get_user_model().objects.get(pk=fixtures.user.pk)
    email = fixtures.user.email
    return [
        Case("signin/check-password", lambda: user.check_password(PASSWORD), max_batch=3),
        _post(
            client,
            "signin/bearer",
            "/auth/token/",
            {"email": email, "password": PASSWORD},
            max_batch=3,
            probe=CHECK_PASSWORD,
        ),
        _post(
            client,
            "signin/simplejwt",
            "/simplejwt/token/",
            {"email": email, "password": PASSWORD},
            max_batch=3,
            probe=CHECK_PASSWORD,
        ),
    ]


def refresh_cases(fixtures: Fixtures) -> list[Case]:
    """Each product's refresh with rotation; every call spends the token the last one got.

    bearer_auth's twice: the first-party ``/auth/token/refresh/`` and the
    OAuth ``/o/token/``, one implementation behind both.
    """
    client = Client()
    bearer = _sign_in(client, fixtures)
    return [
        bearer_refresh_case("refresh/bearer", client, bearer),
        _chain(
            client,
            "refresh/bearer-oauth",
            "/o/token/",
            oauth_refresh_token(fixtures),
            field="refresh_token",
            data=lambda token: {
                "grant_type": "refresh_token",
                "refresh_token": token,
                "client_id": fixtures.dot_client_id,
            },
            form=True,
        ),
        _chain(
            client,
            "refresh/simplejwt",
            "/simplejwt/token/refresh/",
            _simplejwt_refresh_token(client, fixtures),
            field="refresh",
            data=lambda token: {"refresh": token},
        ),
        _chain(
            client,
            "refresh/dot",
            "/dot/token/",
            dot_refresh_token(fixtures),
            field="refresh_token",
            data=lambda token: {
                "grant_type": "refresh_token",
                "refresh_token": token,
                "client_id": fixtures.dot_client_id,
            },
            form=True,
        ),
    ]


def bearer_refresh_case(
    name: str,
    client: Client,
    refresh_token: str,
    *,
    check: Callable[[Any], bool] = _ok,
    secure: bool = False,
) -> Case:
    """bearer_auth's ``/auth/token/refresh/``, chained from ``refresh_token``."""
    return _chain(
        client,
        name,
        "/auth/token/refresh/",
        refresh_token,
        field="refresh_token",
        data=lambda token: {"refresh_token": token},
        check=check,
        secure=secure,
    )


def sign_in_refresh_token(fixtures: Fixtures, *, secure: bool = False) -> str:
    """Sign in through ``/auth/token/`` once and return the refresh token."""
    return _sign_in(Client(), fixtures, secure=secure)


# Building blocks.


def _authenticate(
    name: str,
    authenticator: BaseAuthentication,
    token: str,
    context: Callable[[], Any] | None = None,
) -> Case:
    request = Request(RequestFactory().get("/api/", HTTP_AUTHORIZATION=f"Bearer {token}"))

    def call() -> Any:
        return authenticator.authenticate(request)

    def check(result: Any) -> bool:
        return result is not None and result[0] is not None and result[0].is_authenticated

    if context is None:
        return Case(name, call, check)
    return Case(name, call, check, context)


def _get(
    client: Client,
    name: str,
    path: str,
    token: str | None,
    context: Callable[[], Any] | None = None,
) -> Case:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}

    def call() -> Any:
        return client.get(path, **headers)  # type: ignore[arg-type]

    def check(response: Any) -> bool:
        return response.status_code == 200  # type: ignore[no-any-return]

    if context is None:
        return Case(name, call, check)
    return Case(name, call, check, context)


def _post(
    client: Client,
    name: str,
    path: str,
    data: dict[str, Any],
    *,
    max_batch: int,
    probe: Probe | None = None,
    check: Callable[[Any], bool] = _ok,
    secure: bool = False,
    headers: dict[str, str] | None = None,
) -> Case:
    """A JSON ``POST`` of ``data``; ``headers`` as ``request.META`` keys (``HTTP_…``)."""
    extra = headers or {}

    def call() -> Any:
        return client.post(
            path,
            data,
            content_type="application/json",
            secure=secure,
            **extra,  # type: ignore[arg-type]
        )

    return Case(name, call, check, max_batch=max_batch, probe=probe)


def _chain(
    client: Client,
    name: str,
    path: str,
    first: str,
    *,
    field: str,
    data: Callable[[str], dict[str, Any]],
    form: bool = False,
    check: Callable[[Any], bool] = _ok,
    secure: bool = False,
) -> Case:
    """A refresh case: each call presents the refresh token the previous call received."""
    current = [first]

    def call() -> Any:
        if form:
            response = client.post(path, data(current[0]), secure=secure)
        else:
            response = client.post(
                path, data(current[0]), content_type="application/json", secure=secure
            )
        if response.status_code == 200:
            current[0] = json.loads(response.content)[field]
        return response

    return Case(name, call, check)


def _sign_in(client: Client, fixtures: Fixtures, *, secure: bool = False) -> str:
    response = client.post(
        "/auth/token/",
        {"email": fixtures.user.email, "password": PASSWORD},
        content_type="application/json",
        secure=secure,
    )
    if response.status_code != 200:
        raise RuntimeError(
            f"bearer_auth sign-in failed: {response.status_code} {response.content!r}"
        )
    return str(response.json()["refresh_token"])


def _simplejwt_refresh_token(client: Client, fixtures: Fixtures) -> str:
    response = client.post(
        "/simplejwt/token/",
        {"email": fixtures.user.email, "password": PASSWORD},
        content_type="application/json",
    )
    if response.status_code != 200:
        raise RuntimeError(f"simplejwt sign-in failed: {response.status_code}")
    return str(response.json()["refresh"])
