"""Hypothesis: no Authorization header and no mutated token yields a 500 or a user."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.issuing import issue_access_token

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
LATIN1 = st.characters(min_codepoint=0, max_codepoint=255)
B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/~"


@FUZZ
@given(
    header=st.one_of(
        st.text(LATIN1, max_size=300),
        st.builds(lambda s: "Bearer " + s, st.text(LATIN1, max_size=300)),
        st.builds(lambda s: "Bearer " + s, st.text(B64_ALPHABET, max_size=600)),
    )
)
def test_any_authorization_header_gets_a_clean_4xx(client: Client, header: str) -> None:
    response = client.get("/test-api/whoami/", HTTP_AUTHORIZATION=header)
    assert response.status_code in {400, 401}, (header, response.status_code)
    assert response["WWW-Authenticate"].startswith('Bearer realm="api"')


@FUZZ
@given(data=st.data())
def test_mutated_tokens_never_authenticate(client: Client, user: Any, data: Any) -> None:
    token = issue_access_token(user, scope="read")
    # Token lengths vary (user ids, jti); draw a fixed range and fold it in.
    position = data.draw(st.integers(min_value=0, max_value=4095)) % len(token)
    replacement = data.draw(st.text(B64_ALPHABET, min_size=0, max_size=3))
    mutated = token[:position] + replacement + token[position + 1 :]
    if mutated == token:
        return
    response = client.get("/test-api/whoami/", HTTP_AUTHORIZATION=f"Bearer {mutated}")
    assert response.status_code in {400, 401}, (mutated, response.status_code)


@FUZZ
@given(
    header=st.dictionaries(
        st.text(max_size=8),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
            lambda children: (
                st.lists(children, max_size=3)
                | st.dictionaries(st.text(max_size=5), children, max_size=3)
            ),
            max_leaves=20,
        ),
        max_size=6,
    ),
    payload=st.dictionaries(
        st.sampled_from(["iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope"]),
        st.one_of(
            st.none(),
            st.integers(),
            st.floats(allow_nan=True, allow_infinity=True),
            st.text(max_size=30),
            st.lists(st.text(max_size=5), max_size=3),
        ),
        max_size=9,
    ),
)
def test_arbitrary_headers_and_claims_never_500(
    client: Client, header: dict[str, Any], payload: dict[str, Any]
) -> None:
    import json

    from tests.issuing import raw_token

    try:
        token = raw_token(header, json.dumps(payload, allow_nan=True).encode())
    except (TypeError, ValueError):
        return
    response = client.get("/test-api/whoami/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code in {400, 401}


@FUZZ
@given(credentials=st.one_of(st.text(LATIN1, max_size=50), st.text(B64_ALPHABET, max_size=50)))
def test_b64token_check_is_rfc_6750_syntax(credentials: str) -> None:
    """The fast check accepts exactly RFC 6750 §2.1's ``b64token``."""
    import re

    from bearer_auth.authentication import is_b64token

    abnf = re.fullmatch(r"[A-Za-z0-9\-._~+/]+=*", credentials)
    assert is_b64token(credentials) is (abnf is not None)
