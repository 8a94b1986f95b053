"""A code is issued only for a real S256 challenge and a nonce DOT's grant row can hold.

DOT's ``Grant.code_challenge`` is 128 characters and ``nonce`` 255: PostgreSQL
refuses longer values, which was a 503 after the user consented (SQLite stored
them). Both are refused as ``invalid_request`` before anything is stored, on
the consent page and on its answer, OpenID Connect or not.
"""

from __future__ import annotations

from typing import Any

import pytest
from oauth2_provider.models import get_grant_model

from tests.oauth_client import authorization_params, form_fields, make_application, query_of

pytestmark = pytest.mark.django_db


def _error_of(response: Any) -> str:
    assert response.status_code == 302, response.content
    return query_of(response["Location"])["error"]


@pytest.mark.parametrize(
    "challenge",
    [
        "c" * 129,  # longer than the column
        "c" * 42,  # not a SHA-256 digest
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c+",  # not base64url
    ],
)
def test_a_challenge_that_is_no_s256_one_is_invalid_request(browser: Any, challenge: str) -> None:
    application = make_application()
    params = authorization_params(application, challenge)
    assert _error_of(browser.get("/o/authorize/", params)) == "invalid_request"


def test_a_challenge_made_longer_in_the_consent_form_is_invalid_request(browser: Any) -> None:
    application = make_application()
    page = browser.get("/o/authorize/", authorization_params(application))
    fields = {**form_fields(page.content.decode()), "allow": "on", "code_challenge": "c" * 129}
    assert _error_of(browser.post("/o/authorize/", fields)) == "invalid_request"
    assert not get_grant_model().objects.exists()


def test_a_nonce_longer_than_the_column_is_refused_without_openid(browser: Any) -> None:
    application = make_application()
    params = authorization_params(application, nonce="n" * 256)
    assert _error_of(browser.get("/o/authorize/", params)) == "invalid_request"
    assert not get_grant_model().objects.exists()
