"""docs/api.md, replayed: every curl example in page order, every answer as shown."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tests.docs.markdown import sample
from tests.docs.replay import Shell, assert_like
from tests.factories import UserFactory

# The examples sign in with an email address and show bearer_auth's user fields.
pytestmark = [pytest.mark.django_db, pytest.mark.custom_user_model]

PAGE = "docs/api.md"
TOKEN_RESPONSE = sample(PAGE, "token-response")
ERROR_RESPONSE = sample(PAGE, "error-response")
#: The examples, one session in page order.
SESSION = (
    sample(PAGE, "sign-in"),
    sample(PAGE, "refresh"),
    sample(PAGE, "revoke"),
    sample(PAGE, "me"),
    sample(PAGE, "sessions"),
    sample(PAGE, "sign-out-session"),
    sample(PAGE, "sign-out-everywhere"),
)
#: The page's prose: "$ACCESS_TOKEN is the access_token of the first sign-in below".
SHELL_VARIABLES = {"ACCESS_TOKEN": "access_token"}
PASSWORD = "correct horse battery staple"


@pytest.fixture
def alice(db: Any) -> Any:
    return UserFactory(
        email="alice@example.com", full_name="Alice Liddell", short_name="Alice", password=PASSWORD
    )


@pytest.mark.usefixtures("alice")
def test_the_examples_replay_in_page_order() -> None:
    blocks = [claim.block for claim in SESSION]
    assert [block.line for block in blocks] == sorted(block.line for block in blocks)
    shell = Shell(Client(), bind=SHELL_VARIABLES)
    answers = [response for block in blocks for response in shell.replay(block)]
    assert len(answers) == 15
    assert [answer.headers["Cache-Control"] for answer in answers[:8]] == ["no-store"] * 8


@pytest.mark.usefixtures("alice")
def test_the_token_response_and_error_shapes_are_real() -> None:
    client = Client()
    signed_in = client.post(
        "/auth/token/",
        {"email": "alice@example.com", "password": PASSWORD},
        content_type="application/json",
    )
    assert signed_in.status_code == 200
    assert_like(json.loads(TOKEN_RESPONSE.block.text), signed_in.json())
    refused = client.post(
        "/auth/token/refresh/", {"refresh_token": "unknown"}, content_type="application/json"
    )
    assert refused.status_code == 400
    assert_like(json.loads(ERROR_RESPONSE.block.text), refused.json())
