"""Claim attacks (RFC 9068 §4, RFC 8725 §3.8-3.9, RFC 7519 §4.1).

Tokens are re-signed with the server's own key (:func:`tests.issuing.forge`):
the worst case, a token the server could have signed by mistake. Covered
elsewhere and not repeated: each required claim missing, the basic
``iss``/``aud`` near-misses, ``exp`` +1 s, and inactive/deleted users
(``tests/test_authentication.py``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oauth2_provider.models import get_access_token_model

from bearer_auth.jwt import token_checksum
from tests.adapters import adapter_client  # noqa: F401  (``client``, over every adapter)
from tests.factories import UserFactory
from tests.issuing import claims_of, forge, issue_access_token
from tests.security.probes import RESOURCE_METADATA, SCOPED, assert_invalid_token, call

pytestmark = pytest.mark.django_db

#: A fixed instant the clock is frozen at for the boundary tests.
NOW = datetime(2030, 6, 1, 12, 0, 0, tzinfo=dt_timezone.utc)
T = int(NOW.timestamp())


def _with_leeway(settings: Any, seconds: int) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "LEEWAY": timedelta(seconds=seconds)}


def _status_at(client: Client, token: str, moment: int) -> int:
    with time_machine.travel(datetime.fromtimestamp(moment, tz=dt_timezone.utc), tick=False):
        return int(call(client, token).status_code)


@pytest.fixture
def frozen_token(user: Any) -> str:
    with time_machine.travel(NOW, tick=False):
        return issue_access_token(user, scope="read")


@pytest.mark.parametrize("leeway", [0, 30])
def test_exp_boundary_is_exact_to_the_second(
    client: Client, user: Any, frozen_token: str, settings: Any, leeway: int
) -> None:
    """Valid while ``now < exp + leeway``; refused from ``exp + leeway`` on."""
    _with_leeway(settings, leeway)
    token = forge(frozen_token, user=user, claims={"iat": T, "exp": T + 60})
    assert _status_at(client, token, T + 59 + leeway) == 200
    assert _status_at(client, token, T + 60 + leeway) == 401
    assert _status_at(client, token, T + 61 + leeway) == 401


@pytest.mark.parametrize("claim", ["nbf", "iat"])
@pytest.mark.parametrize("leeway", [0, 30])
def test_nbf_and_iat_boundary_is_exact_to_the_second(
    client: Client, user: Any, frozen_token: str, settings: Any, claim: str, leeway: int
) -> None:
    """Valid once ``now + leeway >= nbf`` (or ``iat``); refused one second earlier."""
    _with_leeway(settings, leeway)
    token = forge(frozen_token, user=user, claims={"iat": T, claim: T + 100, "exp": T + 600})
    assert _status_at(client, token, T + 100 - leeway) == 200
    assert _status_at(client, token, T + 99 - leeway) == 401


def test_leeway_does_not_revive_a_token_expired_long_ago(
    client: Client, user: Any, frozen_token: str, settings: Any
) -> None:
    _with_leeway(settings, 30)
    token = forge(frozen_token, user=user, claims={"iat": T - 7200, "exp": T - 3600})
    assert _status_at(client, token, T) == 401


HOSTILE_DATES: list[Any] = [
    "2030-06-01T12:05:00Z",
    str(T + 300),
    "",
    None,
    [T + 300],
    {"$date": T + 300},
    True,
    False,
    float("nan"),
    float("inf"),
    float("-inf"),
    1e308,
    -1e308,
    -1,
    2**63,
    2**64 + 1,
    10**20,
    -(10**400),
]


@pytest.mark.parametrize("value", HOSTILE_DATES, ids=repr)
@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
def test_dates_of_wrong_type_or_absurd_value_are_refused(
    client: Client, user: Any, frozen_token: str, claim: str, value: Any
) -> None:
    """Strings, booleans, NaN, ±Infinity, huge and negative numbers: 401, never 500."""
    token = forge(frozen_token, user=user, claims={claim: value})
    with time_machine.travel(NOW, tick=False):
        response = call(client, token)
    assert_invalid_token(response)


def test_float_dates_within_range_are_read_as_numeric_dates(
    client: Client, user: Any, frozen_token: str
) -> None:
    """RFC 7519 §2 NumericDate may be fractional; it is no way around ``exp``."""
    token = forge(frozen_token, user=user, claims={"iat": T + 0.5, "exp": T + 60.5})
    assert _status_at(client, token, T + 30) == 200
    assert _status_at(client, token, T + 61) == 401


@pytest.mark.parametrize(
    "issuer",
    [
        "https://issuer.tes",  # a prefix: PyJWT CVE-2024-53861 accepted substrings
        "issuer.test",
        "https://issuer.test ",
        " https://issuer.test",
        "https://issuer.test\x00",
        "http://issuer.test",
        "https://issuer.test:443",
        "https://\u0456ssuer.test",  # Cyrillic small i (U+0456)
        "https://issuer.test/.well-known/jwks.json",
        "",
        None,
        {"iss": "https://issuer.test"},
    ],
    ids=repr,
)
def test_issuer_near_misses_are_refused(client: Client, user: Any, token: str, issuer: Any) -> None:
    assert_invalid_token(call(client, forge(token, user=user, claims={"iss": issuer})))


@pytest.mark.parametrize(
    "audience",
    [
        "https://issuer.tes",
        "HTTPS://ISSUER.TEST",
        "https://issuer.test ",
        "*",
        "",
        None,
        [],
        ["https://other.test"],
        {"aud": "https://issuer.test"},
        42,
    ],
    ids=repr,
)
def test_audience_near_misses_are_refused(
    client: Client, user: Any, token: str, audience: Any
) -> None:
    assert_invalid_token(call(client, forge(token, user=user, claims={"aud": audience})))


def test_token_for_the_issuer_is_refused_by_a_separate_audience(
    client: Client, user: Any, token: str, settings: Any
) -> None:
    """With ``AUDIENCE`` set, a token whose ``aud`` is the issuer (another API's) is refused."""
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "AUDIENCE": "https://api.test"}
    assert claims_of(token)["aud"] == "https://issuer.test"
    assert_invalid_token(call(client, token))
    assert call(client, issue_access_token(user)).status_code == 200


@pytest.mark.parametrize(
    "fingerprint", ["drop", "", 0, None, ["x"], "0" * 32, "\x80", "\u00e9" * 32, "\ud800"]
)
def test_password_fingerprint_missing_or_forged_is_refused(
    client: Client, user: Any, token: str, fingerprint: Any
) -> None:
    """A user token must carry the fingerprint of the user's current password hash."""
    if fingerprint == "drop":
        forged = forge(token, user=user, drop_claims=["pfp"])
    else:
        forged = forge(token, user=user, claims={"pfp": fingerprint})
    assert_invalid_token(call(client, forged))


def test_fingerprint_of_another_user_is_refused(client: Client, user: Any, token: str) -> None:
    other_token = issue_access_token(UserFactory())
    forged = forge(token, user=user, claims={"pfp": claims_of(other_token)["pfp"]})
    assert_invalid_token(call(client, forged))


def test_deleted_user_recreated_with_the_same_email_gets_nothing(
    client: Client, user: Any, token: str, password: str
) -> None:
    email = user.email
    user.delete()
    UserFactory(email=email, password=password)
    assert_invalid_token(call(client, token))


def test_deactivation_signs_out_for_good(client: Client, user: Any, token: str) -> None:
    """Deactivating through the model revokes the tokens; reactivating revives none."""
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert_invalid_token(call(client, token))
    get_user_model().objects.filter(pk=user.pk).update(is_active=True)
    assert_invalid_token(call(client, token))


def test_deactivation_by_queryset_update_is_refused_at_once(
    client: Client, user: Any, token: str
) -> None:
    """No signal fires for a queryset update; the per-request user check still refuses."""
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    assert_invalid_token(call(client, token))


@pytest.mark.parametrize(
    "scope",
    [
        "",
        "notes:read",
        "profile",
        "notes:read profile2",
        "notes:rea profile",
        "notes:read2 profile",
        "NOTES:READ PROFILE",
        "notes:read,profile",
        "notes:readprofile",
        "notes:* profile",
        "notes profile",
    ],
)
def test_scope_near_misses_get_insufficient_scope(
    client: Client, user: Any, token: str, scope: str
) -> None:
    """Membership is exact (RFC 6749 §3.3): 403 naming the scopes the view needs."""
    forged = forge(token, user=user, claims={"scope": scope})
    response = client.get(SCOPED, HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert response.status_code == 403
    assert response["WWW-Authenticate"] == (
        'Bearer realm="api", error="insufficient_scope", '
        'error_description="The access token does not carry the scope this request needs.", '
        'scope="notes:read profile", ' + RESOURCE_METADATA
    )
    exact = forge(token, user=user, claims={"scope": "profile notes:read"})
    assert client.get(SCOPED, HTTP_AUTHORIZATION=f"Bearer {exact}").status_code == 200


@pytest.mark.parametrize("scope", ["notes:read", "notes:write2", "NOTES:WRITE", "write"])
def test_write_needs_the_exact_write_scope(
    client: Client, user: Any, token: str, scope: str
) -> None:
    forged = forge(token, user=user, claims={"scope": scope})
    response = client.post("/test-api/read-write/", HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert response.status_code == 403
    assert 'scope="notes:write"' in response["WWW-Authenticate"]


HOSTILE_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.lists(st.text(max_size=8), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
STRING_CLAIMS = ("iss", "sub", "aud", "jti", "client_id")


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    replaced=st.dictionaries(
        st.sampled_from(
            ["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "client_id", "scope", "pfp"]
        ),
        HOSTILE_VALUES,
        min_size=1,
        max_size=4,
    )
)
def test_validly_signed_hostile_claims_never_500(
    client: Client, user: Any, token: str, replaced: dict[str, Any]
) -> None:
    """Hypothesis: claims of any type, signed with the server's own key and stored, get a 4xx.

    ``tests/test_fuzz.py`` fuzzes unsigned tokens, which fail at the signature;
    these pass it and reach every claim check and the database lookup.
    """
    forged = forge(token, user=user, claims=replaced, store=False)
    if not get_access_token_model().objects.filter(token_checksum=token_checksum(forged)).exists():
        forge(token, user=user, claims=replaced)  # examples repeat: store each token once
    response = call(client, forged)
    assert response.status_code in {200, 401, 403}, (replaced, response.status_code)
    if any(
        name in STRING_CLAIMS and not (isinstance(value, str) and value)
        for name, value in replaced.items()
    ):
        assert_invalid_token(response)
