"""``bearer_auth.core``: the framework-neutral check, its async path and its per-request memory.

The rules themselves (every forged token, header, scope, revocation) are
``tests/test_authentication.py``'s, run over every adapter; here is what the
core adds: the async path's promises (the event loop never waits for I/O,
strict mode stays one query), the keys' ``without_io`` mode, the answer one
authenticator kept for another, and DRF's rendering of a refusal.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from cryptography.hazmat.primitives.asymmetric import ec
from django.db import connection, transaction
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from rest_framework.request import Request

from bearer_auth import keys
from bearer_auth.authentication import BearerTokenAuthentication
from bearer_auth.core import (
    BearerTokenAuthenticator,
    ClaimsUser,
    adatabase_user,
    not_authenticated,
    refusal_response,
    remember,
)
from bearer_auth.exceptions import InvalidToken, TokenRevoked
from bearer_auth.jwt import user_subject
from bearer_auth.signals import token_rejected
from tests.factories import UserFactory
from tests.issuing import forge, issue_access_token
from tests.security.probes import BARE_CHALLENGE
from tests.test_keys import pem

pytestmark = pytest.mark.django_db

WHOAMI = "/test-api/whoami/"


def bearer_request(token: str) -> Any:
    return RequestFactory().get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {token}")


class WhereItRan(BearerTokenAuthenticator):
    """Records, per step, whether it ran on an event loop (a sync_to_async thread has none)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.on_loop: dict[str, bool] = {}

    def _record(self, step: str) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self.on_loop[step] = False
        else:
            self.on_loop[step] = True

    def get_validated_token(self, raw_token: str) -> dict[str, Any]:
        self._record("get_validated_token")
        return super().get_validated_token(raw_token)

    def get_token_row(self, raw_token: str, *, opaque: bool) -> Any:
        self._record("get_token_row")
        return super().get_token_row(raw_token, opaque=opaque)


@pytest.fixture
def stateless(settings: Any) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "VERIFY_MODE": "stateless"}


# The async path.


def test_stateless_jwt_is_checked_on_the_event_loop(user: Any, stateless: None) -> None:
    token = issue_access_token(user, scope="notes:read")
    keys.verification_key("warm-up")  # the key set loaded, as after a first request
    authenticator = WhereItRan()
    authenticated = async_to_sync(authenticator.aauthenticate)(bearer_request(token))
    assert authenticated is not None
    found_user, bearer = authenticated
    assert isinstance(found_user, ClaimsUser)
    assert found_user.id == user_subject(user)
    assert bearer.scopes == {"notes:read"}
    assert authenticator.on_loop == {"get_validated_token": True}


def test_keys_due_to_be_read_move_the_check_off_the_loop(user: Any, stateless: None) -> None:
    token = issue_access_token(user)
    keys.clear_key_cache()  # as in a new process, or when KEY_CACHE_SECONDS have passed
    authenticator = WhereItRan()
    # On the loop the database would raise SynchronousOnlyOperation; off it, it reads the keys.
    assert async_to_sync(authenticator.aauthenticate)(bearer_request(token)) is not None
    assert authenticator.on_loop == {"get_validated_token": False}
    # Loaded now: the next request stays on the loop.
    assert async_to_sync(authenticator.aauthenticate)(bearer_request(token)) is not None
    assert authenticator.on_loop == {"get_validated_token": True}


def test_without_io_refuses_to_read_the_keys_and_reads_nothing(user: Any) -> None:
    token = issue_access_token(user)
    keys.clear_key_cache()
    authenticator = BearerTokenAuthenticator(verify_mode="stateless")
    with (
        CaptureQueriesContext(connection) as queries,
        keys.without_io(),
        pytest.raises(keys.KeysNotLoaded),
    ):
        authenticator.authenticate_credentials(token)
    assert len(queries) == 0
    assert not keys.io_forbidden()


def test_an_unknown_kid_is_read_off_the_loop(user: Any) -> None:
    token = issue_access_token(user)
    keys.verification_key("warm-up")
    with keys.without_io(), pytest.raises(keys.KeysNotLoaded):
        keys.verification_key("a-kid-another-process-just-made")
    forged = forge(token, user=user, headers={"kid": "a-kid-another-process-just-made"})
    authenticator = BearerTokenAuthenticator(verify_mode="stateless")
    with pytest.raises(InvalidToken):
        async_to_sync(authenticator.aauthenticate)(bearer_request(forged))


def test_settings_keys_need_no_io(user: Any, settings: Any) -> None:
    settings.BEARER_AUTH = {
        **settings.BEARER_AUTH,
        "VERIFY_MODE": "stateless",
        "SIGNING_KEYS": [pem(ec.generate_private_key(ec.SECP256R1()))],
    }
    keys.clear_key_cache()
    token = issue_access_token(user)
    authenticator = WhereItRan()
    assert async_to_sync(authenticator.aauthenticate)(bearer_request(token)) is not None
    assert authenticator.on_loop == {"get_validated_token": True}


def test_strict_mode_is_one_query_in_one_hop(user: Any) -> None:
    token = issue_access_token(user)
    keys.verification_key("warm-up")
    authenticator = WhereItRan()
    with CaptureQueriesContext(connection) as queries:
        authenticated = async_to_sync(authenticator.aauthenticate)(bearer_request(token))
    assert authenticated is not None
    assert authenticated[0] == user
    assert len(queries) == 1
    assert authenticator.on_loop == {"get_validated_token": False, "get_token_row": False}


def test_async_refusals_are_the_sync_ones(user: Any) -> None:
    token = issue_access_token(user)
    user.is_active = False
    user.save()
    received: list[str] = []

    def receiver(sender: Any, request: Any, reason: str, **kwargs: Any) -> None:
        received.append(reason)

    token_rejected.connect(receiver)
    try:
        authenticator = BearerTokenAuthenticator()
        with pytest.raises(TokenRevoked) as sync_refusal:
            authenticator.authenticate(bearer_request(token))
        with pytest.raises(TokenRevoked) as async_refusal:
            async_to_sync(authenticator.aauthenticate)(bearer_request(token))
    finally:
        token_rejected.disconnect(receiver)
    assert received == ["TokenRevoked", "TokenRevoked"]
    assert async_refusal.value.auth_header == sync_refusal.value.auth_header
    assert async_refusal.value.detail == sync_refusal.value.detail
    assert async_refusal.value.auth_header.startswith('Bearer realm="api", error="invalid_token"')


def test_adatabase_user_finds_the_row_off_the_loop(user: Any, stateless: None) -> None:
    token = issue_access_token(user)
    request = bearer_request(token)
    authenticated = async_to_sync(BearerTokenAuthenticator().aauthenticate)(request)
    assert authenticated is not None
    request.user = authenticated[0]
    with CaptureQueriesContext(connection) as queries:
        assert async_to_sync(adatabase_user)(request) == user
    assert len(queries) == 1


# One request, checked once.


def test_a_remembered_answer_serves_an_equal_authenticator_without_a_query(user: Any) -> None:
    token = issue_access_token(user)
    request = bearer_request(token)
    first = BearerTokenAuthenticator()
    outcome = first.authenticate(request)
    remember(request, first, outcome)
    with CaptureQueriesContext(connection) as queries:
        # DRF's class is the same check: it replays the answer.
        assert BearerTokenAuthentication().authenticate(Request(request)) == outcome
        assert async_to_sync(BearerTokenAuthenticator().aauthenticate)(request) == outcome
    assert len(queries) == 0


def test_a_remembered_refusal_is_replayed(user: Any) -> None:
    token = issue_access_token(user)
    user.is_active = False
    user.save()
    request = bearer_request(token)
    first = BearerTokenAuthenticator()
    with pytest.raises(TokenRevoked) as refusal:
        first.authenticate(request)
    remember(request, first, refusal.value)
    with CaptureQueriesContext(connection) as queries, pytest.raises(TokenRevoked):
        BearerTokenAuthentication().authenticate(Request(request))
    assert len(queries) == 0


def test_another_resource_mode_or_step_checks_again(user: Any) -> None:
    token = issue_access_token(user)
    request = bearer_request(token)
    first = BearerTokenAuthenticator()
    remember(request, first, first.authenticate(request))

    class Stricter(BearerTokenAuthenticator):
        def get_user(self, row: Any, claims: Any) -> Any:
            raise TokenRevoked

    with pytest.raises(TokenRevoked):
        Stricter().authenticate(request)
    with pytest.raises(InvalidToken):  # the token is not for that resource
        BearerTokenAuthenticator(resource="https://issuer.test/mcp").authenticate(request)
    with CaptureQueriesContext(connection) as queries:
        assert BearerTokenAuthenticator(verify_mode="stateless").authenticate(request) is not None
    assert len(queries) == 0  # checked again: stateless reads nothing


def test_a_remembered_answer_is_for_its_header_only(user: Any) -> None:
    token = issue_access_token(user)
    other = issue_access_token(UserFactory())
    request = bearer_request(token)
    first = BearerTokenAuthenticator()
    remember(request, first, first.authenticate(request))
    request.META["HTTP_AUTHORIZATION"] = f"Bearer {other}"
    authenticated = first.authenticate(request)
    assert authenticated is not None
    assert authenticated[0] != user


# Answers for views that are not DRF's.


def test_refusal_response_is_drfs_answer_byte_for_byte(client: Client, user: Any) -> None:
    token = issue_access_token(user)
    user.is_active = False
    user.save()
    drf = client.get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {token}")
    with pytest.raises(TokenRevoked) as refusal:
        BearerTokenAuthenticator().authenticate(bearer_request(token))
    ours = refusal_response(refusal.value)
    assert ours.status_code == drf.status_code == 401
    assert ours.content == drf.content
    assert ours["Content-Type"] == drf["Content-Type"]
    assert ours["WWW-Authenticate"] == drf["WWW-Authenticate"]


def test_not_authenticated_is_drfs_answer_without_credentials(client: Client) -> None:
    drf = client.get(WHOAMI)
    ours = refusal_response(not_authenticated(BearerTokenAuthenticator()))
    assert ours.status_code == drf.status_code == 401
    assert ours.content == drf.content
    assert ours["WWW-Authenticate"] == drf["WWW-Authenticate"] == BARE_CHALLENGE


def test_the_async_path_runs_the_loop_of_its_caller(user: Any, stateless: None) -> None:
    """Under a real loop (not async_to_sync's), stateless checks run in the loop's own thread."""
    token = issue_access_token(user)
    keys.verification_key("warm-up")
    authenticator = WhereItRan()
    threads: list[int] = []

    async def main() -> None:
        threads.append(threading.get_ident())
        assert await authenticator.aauthenticate(bearer_request(token)) is not None

    thread = threading.Thread(target=asyncio.run, args=(main(),))
    thread.start()
    thread.join()
    assert threads == [thread.ident]
    assert authenticator.on_loop == {"get_validated_token": True}


def test_refusal_response_rolls_the_request_back_as_drf_does(settings: Any) -> None:
    """Under ``ATOMIC_REQUESTS``, what a view wrote before a refusal is not committed."""
    connection.settings_dict["ATOMIC_REQUESTS"] = True
    try:
        with transaction.atomic():
            refusal_response(TokenRevoked())
            assert connection.get_rollback()
            transaction.set_rollback(False)
        connection.settings_dict["ATOMIC_REQUESTS"] = False
        with transaction.atomic():
            refusal_response(TokenRevoked())
            assert not connection.get_rollback()
    finally:
        connection.settings_dict["ATOMIC_REQUESTS"] = False
