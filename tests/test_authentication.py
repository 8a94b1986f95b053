"""``BearerTokenAuthentication``: every acceptance and rejection rule, over HTTP.

Every test that uses ``client`` runs once per adapter of the one check (DRF,
Django Ninja sync and async, a plain async Django view: ``tests/adapters.py``)
with the same expected answers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import jwt
import pytest
import time_machine
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from oauth2_provider.contrib.rest_framework import TokenHasScope
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from bearer_auth import keys
from bearer_auth.authentication import BearerToken, BearerTokenAuthentication, ClaimsUser
from bearer_auth.exceptions import InvalidToken, TokenRevoked
from bearer_auth.jwt import user_subject
from bearer_auth.signals import token_rejected
from tests.adapters import adapter_client  # noqa: F401  (``client``, over every adapter)
from tests.factories import ApplicationFactory, UserFactory
from tests.issuing import claims_of, forge, issue_access_token, raw_token, store_live_token
from tests.security.probes import BARE_CHALLENGE
from tests.views import WhoAmIView

pytestmark = pytest.mark.django_db

WHOAMI = "/test-api/whoami/"
INVALID_TOKEN = 'Bearer realm="api", error="invalid_token"'


def get(client: Client, token: str | None = None, *, header: str | None = None) -> Any:
    extra = {}
    if header is not None:
        extra["HTTP_AUTHORIZATION"] = header
    elif token is not None:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client.get(WHOAMI, **extra)


def assert_invalid_token(response: Any) -> None:
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"].startswith(INVALID_TOKEN)
    body = json.loads(response.content)
    assert body["error"] == "invalid_token"
    assert isinstance(body["error_description"], str)
    assert body["error_description"]


@pytest.fixture
def token(user: Any) -> str:
    return issue_access_token(user, scope="read notes:read")


# Acceptance.


def test_valid_token_authenticates_the_user(client: Client, user: Any, token: str) -> None:
    response = get(client, token)
    assert response.status_code == 200
    body = response.json()
    assert body["user"] == str(user.pk)
    assert body["scopes"] == ["notes:read", "read"]
    assert body["jti"] == claims_of(token)["jti"]


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_scheme_is_case_insensitive(client: Client, token: str, scheme: str) -> None:
    assert get(client, header=f"{scheme} {token}").status_code == 200


def test_request_auth_exposes_claims_scopes_client_and_expiry(user: Any) -> None:
    from rest_framework.test import APIRequestFactory

    from bearer_auth.authentication import BearerTokenAuthentication

    application = ApplicationFactory(client_id="the-client")
    token = issue_access_token(user, scope="read write", application=application)
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}")
    from rest_framework.request import Request

    result = BearerTokenAuthentication().authenticate(Request(request))
    assert result is not None
    authenticated_user, auth = result
    assert authenticated_user == user
    assert isinstance(auth, BearerToken)
    assert auth.claims["sub"] == user_subject(user)
    assert auth.scopes == frozenset({"read", "write"})
    assert auth.scope == "read write"
    assert auth.client_id == "the-client"
    assert auth.jti == claims_of(token)["jti"]
    assert auth.expires_at == timezone.datetime.fromtimestamp(
        claims_of(token)["exp"], tz=timezone.get_current_timezone()
    )
    assert auth.token_row is not None
    # DOT's permission classes call these on request.auth.
    assert auth.is_valid(["read"])
    assert not auth.is_valid(["admin"])
    assert not auth.is_expired()
    assert auth.allow_scopes(["write"])


def test_dot_token_has_scope_works_with_request_auth(user: Any) -> None:
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from bearer_auth.authentication import BearerTokenAuthentication

    token = issue_access_token(user, scope="read")
    request = Request(
        APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}"),
        authenticators=[BearerTokenAuthentication()],
    )

    class View:
        required_scopes = ["read"]

    class WriteView:
        required_scopes = ["write"]

    assert TokenHasScope().has_permission(request, View())
    assert not TokenHasScope().has_permission(request, WriteView())


def test_exactly_one_query_per_authenticated_request(
    client: Client, token: str, django_assert_num_queries: Any
) -> None:
    get(client, token)  # warm the key cache
    with django_assert_num_queries(1):
        assert get(client, token).status_code == 200


# No credentials and other schemes.


def test_no_credentials_gets_bare_challenge(client: Client) -> None:
    response = get(client)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == BARE_CHALLENGE


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Token abc", "Digest x=1", "Bearerx y"])
def test_other_schemes_are_left_to_other_classes(client: Client, header: str) -> None:
    response = get(client, header=header)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == BARE_CHALLENGE


def test_token_in_query_string_or_body_is_ignored(client: Client, token: str) -> None:
    response = client.get(WHOAMI, {"access_token": token})
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == BARE_CHALLENGE
    response = client.post(WHOAMI, {"access_token": token})
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == BARE_CHALLENGE


# Malformed headers: 400 invalid_request.


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Bearer    ",
        "Bearer a b",
        "Bearer a,b",
        "Bearer a\tb",
        "Bearer ä",
        "Bearer a=b",
        'Bearer "a"',
    ],
)
def test_malformed_bearer_header_is_invalid_request(client: Client, header: str) -> None:
    response = get(client, header=header)
    assert response.status_code == 400
    assert response["WWW-Authenticate"].startswith('Bearer realm="api", error="invalid_request"')
    assert response.json()["error"] == "invalid_request"


def test_token_over_8kb_is_refused_before_decoding(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("decoded an oversized token")

    monkeypatch.setattr(jwt, "get_unverified_header", fail)
    assert_invalid_token(get(client, "a" * (8 * 1024 + 1)))


# Signature and algorithm.


def test_tampered_payload_is_refused(client: Client, user: Any, token: str) -> None:
    header, _payload, signature = token.split(".")
    other = issue_access_token(user, scope="read write admin")
    forged = store_live_token(
        f"{header}.{other.split('.')[1]}.{signature}", user=user, scope="admin"
    )
    assert_invalid_token(get(client, forged))


@pytest.mark.parametrize("cut", ["strip", "truncate", "swap"])
def test_broken_signatures_are_refused(client: Client, user: Any, token: str, cut: str) -> None:
    header, payload, signature = token.split(".")
    other_signature = issue_access_token(user).split(".")[2]
    forged = {
        "strip": f"{header}.{payload}.",
        "truncate": f"{header}.{payload}.{signature[:-8]}",
        "swap": f"{header}.{payload}.{other_signature}",
    }[cut]
    if cut != "strip":
        store_live_token(forged, user=user)
    response = get(client, forged)
    if cut == "strip":
        # "header.payload." ends in "." which is still b64token syntax.
        assert response.status_code in {400, 401}
    else:
        assert_invalid_token(response)


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_is_refused(client: Client, user: Any, token: str, alg: str) -> None:
    forged = raw_token({**jwt.get_unverified_header(token), "alg": alg}, claims_of(token), b"")
    assert_invalid_token(get(client, store_live_token(forged, user=user)))


def test_hs256_signed_with_the_public_key_is_refused(client: Client, user: Any, token: str) -> None:
    public_pem = (
        keys.current_signing_key()
        .private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    payload = claims_of(token)
    header = jwt.get_unverified_header(token)
    import hashlib
    import hmac as hmac_module

    signing_input = raw_token({**header, "alg": "HS256"}, payload, b"").rsplit(".", 1)[0]
    signature = hmac_module.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    from tests.issuing import b64url

    forged = f"{signing_input}.{b64url(signature)}"
    assert_invalid_token(get(client, store_live_token(forged, user=user)))


def test_allowed_algorithm_that_is_not_the_keys_is_refused(
    client: Client, user: Any, token: str
) -> None:
    # Same kid, but signed ES256 by an attacker's key: the kid's key is RS256 only.
    attacker = ec.generate_private_key(ec.SECP256R1())
    forged = forge(token, user=user, key=attacker, algorithm="ES256")
    assert_invalid_token(get(client, forged))


def test_token_signed_by_unknown_key_with_known_kid_is_refused(
    client: Client, user: Any, token: str
) -> None:
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert_invalid_token(get(client, forge(token, user=user, key=attacker, algorithm="RS256")))


# Header parameters.


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("jku", "https://attacker.example/jwks.json"),
        ("x5u", "https://attacker.example/cert.pem"),
        ("jwk", {"kty": "oct", "k": "AAAA"}),
        ("x5c", ["MIIB"]),
        ("crit", ["exp"]),
        ("zip", "DEF"),
    ],
)
def test_key_bearing_and_critical_headers_are_refused(
    client: Client, user: Any, token: str, name: str, value: Any
) -> None:
    assert_invalid_token(get(client, forge(token, user=user, headers={name: value})))


@pytest.mark.parametrize("typ", [None, "JWT", "jwt", "at+jwt2", "application/jwt", "rt+jwt"])
def test_typ_must_be_at_jwt(client: Client, user: Any, token: str, typ: str | None) -> None:
    if typ is None:
        forged = forge(token, user=user, drop_headers=["typ"])
    else:
        forged = forge(token, user=user, headers={"typ": typ})
    assert_invalid_token(get(client, forged))


@pytest.mark.parametrize("typ", ["at+jwt", "AT+JWT", "application/at+jwt", "Application/AT+JWT"])
def test_typ_accepts_media_type_forms(client: Client, user: Any, token: str, typ: str) -> None:
    assert get(client, forge(token, user=user, headers={"typ": typ})).status_code == 200


@pytest.mark.parametrize(
    "kid", [None, "", "unknown-kid", "../../etc/passwd", "' OR 1=1 --", 5, "k" * 4000]
)
def test_bad_kid_is_refused(client: Client, user: Any, token: str, kid: Any) -> None:
    if kid is None:
        forged = forge(token, user=user, drop_headers=["kid"])
    else:
        forged = forge(token, user=user, headers={"kid": kid}, store=len(str(kid)) < 2000)
    assert_invalid_token(get(client, forged))


# Claims.


@pytest.mark.parametrize("claim", ["iss", "sub", "aud", "exp", "iat", "jti", "client_id"])
def test_each_required_claim_is_enforced(client: Client, user: Any, token: str, claim: str) -> None:
    assert_invalid_token(get(client, forge(token, user=user, drop_claims=[claim])))


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("iss", "https://issuer.test/"),
        ("iss", "https://ISSUER.test"),
        ("iss", "https://issuer.test.evil"),
        ("iss", ["https://issuer.test"]),
        ("aud", "https://issuer.test/"),
        ("aud", "https://other.test"),
        ("aud", ["https://issuer.test", "https://other.test"]),
        ("sub", 42),
        ("sub", ""),
        ("jti", 7),
        ("client_id", None),
        ("client_id", 3),
        ("scope", ["read"]),
        ("exp", "tomorrow"),
        ("exp", True),
        ("iat", "now"),
        ("exp", 10**400),
    ],
)
def test_claim_near_misses_are_refused(
    client: Client, user: Any, token: str, claim: str, value: Any
) -> None:
    assert_invalid_token(get(client, forge(token, user=user, claims={claim: value})))


def test_expired_token_is_refused(client: Client, user: Any) -> None:
    token = issue_access_token(user, lifetime=timedelta(minutes=5))
    with time_machine.travel(timezone.now() + timedelta(minutes=5, seconds=1)):
        response = get(client, token)
    assert_invalid_token(response)
    assert "expired" in response.json()["error_description"]


def test_token_valid_until_its_last_second(client: Client, user: Any) -> None:
    token = issue_access_token(user, lifetime=timedelta(minutes=5))
    with time_machine.travel(timezone.now() + timedelta(minutes=4, seconds=58)):
        assert get(client, token).status_code == 200


def test_leeway_extends_expiry_by_exactly_its_length(
    client: Client, user: Any, settings: Any
) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "LEEWAY": timedelta(seconds=30)}
    token = issue_access_token(user, lifetime=timedelta(minutes=5))
    exp = claims_of(token)["exp"]
    start = timezone.datetime.fromtimestamp(exp, tz=timezone.get_current_timezone())
    with time_machine.travel(start + timedelta(seconds=29), tick=False):
        assert get(client, token).status_code == 200
    with time_machine.travel(start + timedelta(seconds=31), tick=False):
        assert_invalid_token(get(client, token))


def test_not_yet_valid_token_is_refused(client: Client, user: Any, token: str) -> None:
    future = int(timezone.now().timestamp()) + 120
    assert_invalid_token(get(client, forge(token, user=user, claims={"nbf": future})))
    assert_invalid_token(get(client, forge(token, user=user, claims={"iat": future})))


# Revocation and the user.


def test_revoked_token_fails_at_once(client: Client, user: Any, token: str) -> None:
    from oauth2_provider.models import get_access_token_model

    assert get(client, token).status_code == 200
    get_access_token_model().objects.filter(user=user).delete()
    assert_invalid_token(get(client, token))


def test_inactive_user_is_refused(client: Client, user: Any, token: str) -> None:
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    assert_invalid_token(get(client, token))


def test_deleted_user_is_refused(client: Client, user: Any, token: str) -> None:
    user.delete()
    assert_invalid_token(get(client, token))


def test_password_change_by_set_password_revokes_tokens(
    client: Client, user: Any, token: str
) -> None:
    user.set_password("a-brand-new-password-1")
    user.save()
    assert_invalid_token(get(client, token))


def test_password_change_by_queryset_update_revokes_tokens(
    client: Client, user: Any, token: str
) -> None:
    from django.contrib.auth.hashers import make_password

    get_user_model().objects.filter(pk=user.pk).update(password=make_password("other-pw-123"))
    assert_invalid_token(get(client, token))


@pytest.mark.parametrize("change", ["revoke", "deactivate", "delete", "new-password"])
def test_a_token_already_used_is_refused_at_once_after_a_change(
    client: Client, user: Any, token: str, change: str
) -> None:
    """Its signature is not checked again (the verified-token cache); its row and user are."""
    from django.contrib.auth.hashers import make_password
    from oauth2_provider.models import get_access_token_model

    assert get(client, token).status_code == 200
    users = get_user_model().objects.filter(pk=user.pk)
    if change == "revoke":
        get_access_token_model().objects.filter(user=user).delete()
    elif change == "deactivate":
        users.update(is_active=False)
    elif change == "delete":
        users.delete()
    else:
        users.update(password=make_password("other-pw-123"))
    assert_invalid_token(get(client, token))


def test_unrelated_profile_change_keeps_tokens_valid(client: Client, user: Any, token: str) -> None:
    user.last_login = timezone.now()
    user.save()
    assert get(client, token).status_code == 200


def test_token_of_another_user_row_cannot_be_swapped(client: Client, user: Any) -> None:
    victim = UserFactory()
    token = issue_access_token(user)
    forged = forge(token, user=victim, claims={"sub": user_subject(victim)})
    # The row exists for the victim, but the password fingerprint is the attacker's.
    assert_invalid_token(get(client, forged))


def test_client_credentials_token_is_not_a_user(client: Client) -> None:
    application = ApplicationFactory(authorization_grant_type="client-credentials")
    token = issue_access_token(None, application=application)
    response = get(client, token)
    assert response.status_code == 403  # authenticated as a client, not as a user
    assert claims_of(token)["sub"] == application.client_id


def test_rejections_send_a_signal_without_the_token(client: Client, token: str) -> None:
    received: list[dict[str, Any]] = []

    def receiver(**kwargs: Any) -> None:
        received.append(kwargs)

    token_rejected.connect(receiver)
    try:
        get(client, token[:-4] + "AAAA")
    finally:
        token_rejected.disconnect(receiver)
    assert len(received) == 1
    assert received[0]["reason"] in {"InvalidToken", "TokenRevoked"}
    assert token not in repr(received[0])


def test_rejections_log_without_the_token(
    client: Client, token: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="bearer_auth")
    get(client, token[:-4] + "AAAA")
    assert "Bearer token rejected" in caplog.text
    assert token[:-4] not in caplog.text


def test_error_description_is_generic_and_escaped(client: Client, user: Any, token: str) -> None:
    forged = forge(token, user=user, headers={"kid": 'x", error="forged'})
    response = get(client, forged)
    assert_invalid_token(response)
    assert response["WWW-Authenticate"].count('error="') == 1
    assert "forged" not in response["WWW-Authenticate"]


# Stateless and opaque modes.


@pytest.fixture
def stateless(settings: Any) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "VERIFY_MODE": "stateless"}


def test_stateless_mode_uses_no_query(
    client: Client, user: Any, stateless: None, django_assert_num_queries: Any
) -> None:
    token = issue_access_token(user)
    get(client, token)
    with django_assert_num_queries(0):
        response = get(client, token)
    assert response.status_code == 200
    assert response.json()["user"] == user_subject(user)


def test_stateless_user_is_built_from_claims_without_privileges(user: Any) -> None:
    claims = {"sub": "abc", "is_staff": True, "is_superuser": True}
    stateless_user = ClaimsUser(claims)  # type: ignore[arg-type]
    assert stateless_user.id == "abc"
    assert stateless_user.pk == "abc"
    assert stateless_user.is_authenticated
    assert not stateless_user.is_staff
    assert not stateless_user.is_superuser


def test_stateless_mode_still_checks_signature_and_claims(
    client: Client, user: Any, stateless: None
) -> None:
    token = issue_access_token(user)
    assert_invalid_token(get(client, forge(token, user=user, claims={"aud": "other"})))
    assert_invalid_token(get(client, token[:-4] + "AAAA"))


def test_opaque_tokens_are_refused_unless_enabled(client: Client, user: Any) -> None:
    assert_invalid_token(get(client, store_live_token("opaque-token-value-123", user=user)))


@pytest.mark.parametrize(
    "setting", [{"ACCEPT_OPAQUE_TOKENS": True}, {"ACCESS_TOKEN_FORMAT": "opaque"}]
)
def test_opaque_tokens_use_the_same_single_lookup(
    client: Client,
    user: Any,
    settings: Any,
    setting: dict[str, Any],
    django_assert_num_queries: Any,
) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, **setting}
    store_live_token(
        "opaque-token-value-123",
        user=user,
        scope="read write",
        application=ApplicationFactory(client_id="legacy-client"),
    )
    with django_assert_num_queries(1):
        response = get(client, "opaque-token-value-123")
    assert response.status_code == 200
    assert response.json()["client_id"] == "legacy-client"
    assert response.json()["scopes"] == ["read", "write"]
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        assert_invalid_token(get(client, "opaque-token-value-123"))


def test_request_auth_of_an_opaque_token_comes_from_its_row(user: Any, settings: Any) -> None:
    from oauth2_provider.models import get_access_token_model
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from bearer_auth.authentication import BearerTokenAuthentication

    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "ACCEPT_OPAQUE_TOKENS": True}
    store_live_token(
        "opaque-token-value-123",
        user=user,
        scope="read write",
        application=ApplicationFactory(client_id="legacy-client"),
    )
    other = store_live_token("opaque-token-value-456", user=user, scope="read write")
    row = get_access_token_model().objects.get(user=user, application__client_id="legacy-client")

    def authenticate(token: str) -> BearerToken:
        request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}")
        result = BearerTokenAuthentication().authenticate(Request(request))
        assert result is not None
        assert result[0] == user
        return result[1]

    auth = authenticate("opaque-token-value-123")
    assert isinstance(auth, BearerToken)
    assert auth.claims == {}
    assert auth.jti is None
    assert auth.scope == "read write"
    assert auth.scopes == frozenset({"read", "write"})
    assert auth.client_id == "legacy-client"
    assert auth.expires_at == row.expires
    assert auth.token_row == row
    assert auth.is_valid(["write"])
    assert not auth.is_valid(["admin"])
    # Two opaque tokens carry no claims: their rows tell them apart.
    assert auth == authenticate("opaque-token-value-123")
    assert auth != authenticate(other)


# Extension points: each step a subclass may override.


def call_view(authentication: type[BaseAuthentication], **headers: Any) -> Any:
    """``WhoAmIView`` authenticated by ``authentication`` alone."""
    request = APIRequestFactory().get("/whoami/", **headers)
    return WhoAmIView.as_view(authentication_classes=[authentication])(request).render()


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_get_raw_token_reads_the_header_of_a_drf_or_a_django_request(token: str) -> None:
    factory = APIRequestFactory()
    request = factory.get("/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert BearerTokenAuthentication().get_raw_token(Request(request)) == token
    assert BearerTokenAuthentication().get_raw_token(request) == token  # type: ignore[arg-type]
    assert BearerTokenAuthentication().get_raw_token(Request(factory.get("/"))) is None


def test_overriding_get_raw_token_changes_where_the_token_is_read(token: str) -> None:
    class CookieToo(BearerTokenAuthentication):
        def get_raw_token(self, request: Request) -> str | None:
            raw = super().get_raw_token(request)
            return raw if raw is not None else request.COOKIES.get("access_token")

    cookie = {"HTTP_COOKIE": f"access_token={token}"}
    assert call_view(BearerTokenAuthentication, **cookie).status_code == 401
    assert call_view(CookieToo, **cookie).status_code == 200
    assert call_view(CookieToo, **bearer(token)).status_code == 200


def test_overriding_get_validated_token_refuses_more_tokens(user: Any, token: str) -> None:
    class AcmeOnly(BearerTokenAuthentication):
        def get_validated_token(self, raw_token: str) -> dict[str, Any]:
            claims = super().get_validated_token(raw_token)
            if claims.get("tenant") != "acme":
                raise InvalidToken
            return claims

    acme = forge(token, user=user, claims={"tenant": "acme"})
    received: list[dict[str, Any]] = []

    def receiver(**kwargs: Any) -> None:
        received.append(kwargs)

    token_rejected.connect(receiver)
    try:
        refused = call_view(AcmeOnly, **bearer(token))
    finally:
        token_rejected.disconnect(receiver)
    assert_invalid_token(refused)
    assert [(item["sender"], item["reason"]) for item in received] == [(AcmeOnly, "InvalidToken")]
    assert call_view(AcmeOnly, **bearer(acme)).status_code == 200
    assert call_view(BearerTokenAuthentication, **bearer(token)).status_code == 200


def test_overriding_get_token_row_decides_which_rows_count(user: Any, token: str) -> None:
    from oauth2_provider.models import get_access_token_model

    blocked = get_access_token_model().objects.get(user=user).pk

    class Blocklist(BearerTokenAuthentication):
        def get_token_row(self, raw_token: str, *, opaque: bool) -> Any:
            row = super().get_token_row(raw_token, opaque=opaque)
            if row.pk == blocked:
                raise TokenRevoked
            return row

    assert_invalid_token(call_view(Blocklist, **bearer(token)))
    assert call_view(Blocklist, **bearer(issue_access_token(user))).status_code == 200


def test_overriding_get_user_refuses_users(user: Any, token: str) -> None:
    class StaffOnly(BearerTokenAuthentication):
        def get_user(self, row: Any, claims: Mapping[str, Any] | None) -> Any:
            found = super().get_user(row, claims)
            if not found.is_staff:
                raise TokenRevoked
            return found

    assert_invalid_token(call_view(StaffOnly, **bearer(token)))
    get_user_model().objects.filter(pk=user.pk).update(is_staff=True)
    assert call_view(StaffOnly, **bearer(token)).status_code == 200


def test_get_user_still_refuses_inactive_users_and_changed_passwords(user: Any, token: str) -> None:
    from oauth2_provider.models import get_access_token_model

    authentication = BearerTokenAuthentication()
    row = get_access_token_model().objects.select_related("user").get(user=user)
    claims = claims_of(token)
    assert authentication.get_user(row, claims) == user
    assert authentication.get_user(row, None) == user  # an opaque token: no pfp
    with pytest.raises(TokenRevoked):
        authentication.get_user(row, {**claims, "pfp": "another"})
    row.user.is_active = False
    with pytest.raises(TokenRevoked):
        authentication.get_user(row, claims)


def test_overriding_get_stateless_user_builds_another_user(
    user: Any, token: str, stateless: None
) -> None:
    class TenantUser(ClaimsUser):
        @property
        def tenant(self) -> str:
            return str(self.token.get("tenant", ""))

    class Tenants(BearerTokenAuthentication):
        def get_stateless_user(self, claims: dict[str, Any]) -> Any:
            return TenantUser(claims)  # type: ignore[arg-type]

    acme = forge(token, user=user, claims={"tenant": "acme"}, store=False)
    request = Request(APIRequestFactory().get("/", **bearer(acme)))
    result = Tenants().authenticate(request)
    assert result is not None
    assert isinstance(result[0], TenantUser)
    assert result[0].tenant == "acme"
    assert result[0].id == user_subject(user)


def test_authenticate_token_runs_the_class_steps_without_a_request(user: Any, token: str) -> None:
    from bearer_auth.authentication import authenticate_token

    found, auth = authenticate_token(token)
    assert found == user
    assert auth == BearerTokenAuthentication().authenticate_credentials(token)[1]
    with pytest.raises(TokenRevoked):
        authenticate_token(forge(token, user=user, store=False))
