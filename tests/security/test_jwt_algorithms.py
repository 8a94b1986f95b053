"""JWS signature and algorithm attacks (RFC 8725 §2.1-2.3, §3.1-3.2, §3.10; RFC 7515 §4.1).

Every forged token below is stored in DOT's table like a real one (see
:func:`tests.issuing.forge`), so a refusal can only come from the forged
property, never from a missing row. ``tests/test_authentication.py`` already
covers the four ``alg: none`` casings with an empty signature, HS256 with the
SPKI PEM, an attacker's ES256/RS256 key under the real ``kid``, and the
stripped/truncated/swapped signatures; this module covers the rest.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import jwt
import pytest
import time_machine
from asgiref.sync import async_to_sync
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from django.conf import settings as django_settings
from django.test import Client, RequestFactory
from django.utils import timezone

from bearer_auth import keys
from bearer_auth.core import BearerTokenAuthenticator
from tests.factories import ApplicationFactory
from tests.issuing import (
    b64url,
    claims_of,
    forge,
    header_of,
    issue_access_token,
    raw_token,
    sign,
    store_token,
)
from tests.security.conftest import JsonServer, NetworkGuard
from tests.security.probes import assert_invalid_token, call, compact

pytestmark = pytest.mark.django_db

NEWLINE = b"\n"


def _store(token: str, user: Any) -> str:
    """Store ``token``'s row so only its signature or header can make it fail."""
    store_token(
        token,
        user=user,
        application=ApplicationFactory(),
        scope="read",
        expires=timezone.now() + dt.timedelta(minutes=5),
    )
    return token


def _hmac_token(valid: str, secret: bytes, algorithm: str = "HS256") -> str:
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
    signing_input = compact({**header_of(valid), "alg": algorithm}, claims_of(valid))
    signature = hmac.new(secret, signing_input.encode(), digest[algorithm[:5]]).digest()
    return f"{signing_input}.{b64url(signature)}"


def _public_key() -> Any:
    return keys.current_signing_key().private_key.public_key()


def _served_jwks(client: Client) -> bytes:
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    return bytes(response.content)


def _public_jwk_text() -> bytes:
    (jwk,) = [
        key for key in keys.public_jwks()["keys"] if key["kid"] == keys.current_signing_key().kid
    ]
    return json.dumps(jwk).encode()


# Every public encoding of the server's RSA key an attacker can obtain or derive.
PUBLIC_KEY_ENCODINGS: dict[str, Callable[[Client], bytes]] = {
    "pem-spki": lambda c: _public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ),
    "pem-pkcs1": lambda c: _public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
    ),
    "der-spki": lambda c: _public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ),
    "der-pkcs1": lambda c: _public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.PKCS1
    ),
    "openssh": lambda c: _public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ),
    "pem-crlf": lambda c: (
        _public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .replace(b"\n", b"\r\n")
    ),
    "pem-indented": lambda c: (
        b"  "
        + _public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ),
    "jwk-json": lambda c: _public_jwk_text(),
    "jwk-json-compact-sorted": lambda c: json.dumps(
        json.loads(_public_jwk_text()), separators=(",", ":"), sort_keys=True
    ).encode(),
    "jwks-document-as-served": _served_jwks,
    "modulus-bytes": lambda c: _public_key().public_numbers().n.to_bytes(256, "big"),
    "kid": lambda c: keys.current_signing_key().kid.encode(),
    "django-secret-key": lambda c: django_settings.SECRET_KEY.encode(),
    "empty": lambda c: b"",
}


@pytest.mark.parametrize("algorithm", ["HS256", "HS384", "HS512"])
@pytest.mark.parametrize("encoding", sorted(PUBLIC_KEY_ENCODINGS))
def test_hmac_signed_with_any_public_encoding_of_the_key_is_refused(
    client: Client, user: Any, token: str, encoding: str, algorithm: str
) -> None:
    secret = PUBLIC_KEY_ENCODINGS[encoding](client)
    assert_invalid_token(call(client, _store(_hmac_token(token, secret, algorithm), user)))


@pytest.mark.parametrize(
    "alg",
    ["none", "None", "NONE", "nOnE", "noNe", " none", "none ", "", None, ["RS256"], "XYZ"],
)
@pytest.mark.parametrize("signature", [b"", b"keep"])
def test_alg_none_and_unknown_algorithms_are_refused(
    client: Client, user: Any, token: str, alg: Any, signature: bytes
) -> None:
    header = {**header_of(token), "alg": alg}
    if alg is None:
        header.pop("alg")
    forged = raw_token(header, claims_of(token), signature)
    if signature == b"keep":
        forged = forged.rsplit(".", 1)[0] + "." + token.rsplit(".", 1)[1]
    assert_invalid_token(call(client, _store(forged, user)))


def test_alg_none_without_signature_segment_or_kid_is_refused(
    client: Client, user: Any, token: str
) -> None:
    header = {key: value for key, value in header_of(token).items() if key != "kid"}
    two_parts = compact({**header, "alg": "none"}, claims_of(token))
    assert_invalid_token(call(client, _store(two_parts + ".", user)))
    # Two segments are not a compact JWS at all.
    assert call(client, two_parts).status_code == 401


@pytest.mark.parametrize("algorithm", ["RS384", "RS512", "PS256", "PS384", "PS512", "rs256"])
def test_the_real_key_under_another_algorithm_is_refused(
    client: Client, user: Any, token: str, algorithm: str
) -> None:
    """Each key verifies with exactly one algorithm, even signatures made by its own private key."""
    key = keys.current_signing_key().private_key
    real_algorithm = algorithm.upper()
    header = {**header_of(token), "alg": algorithm}
    signer = jwt.algorithms.get_default_algorithms()[real_algorithm]
    signing_input = compact(header, claims_of(token))
    signature = signer.sign(signing_input.encode(), signer.prepare_key(key))
    assert_invalid_token(call(client, _store(f"{signing_input}.{b64url(signature)}", user)))


def test_two_legitimate_keys_cannot_be_crossed(client: Client, user: Any, token: str) -> None:
    """After rotation both keys verify; neither signs under the other's kid or algorithm."""
    rsa_material = keys.current_signing_key()
    keys.rotate_signing_key(algorithm="ES256")
    ec_material = keys.current_signing_key()
    assert call(client, token).status_code == 200  # the retired RSA key still verifies
    payload = claims_of(token)
    crossings = [
        # RSA signature under the EC key's kid, honest alg.
        ({**header_of(token), "kid": ec_material.kid, "alg": "RS256"}, rsa_material.private_key),
        # EC signature under the RSA key's kid, honest alg.
        ({**header_of(token), "kid": rsa_material.kid, "alg": "ES256"}, ec_material.private_key),
    ]
    for header, private_key in crossings:
        assert_invalid_token(call(client, _store(sign(header, payload, private_key), user)))
    # HS256 keyed with the EC key's public PEM under its own kid.
    ec_pem = ec_material.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    forged = _hmac_token(forge(token, user=user, headers={"kid": ec_material.kid}), ec_pem)
    assert_invalid_token(call(client, _store(forged, user)))


@pytest.mark.parametrize(
    "mangle",
    [
        "doubled",
        "extra-byte",
        "zero-bytes",
        "header-padding",
        "header-whitespace",
        "header-reordered",
        "payload-whitespace",
        "payload-padding",
    ],
)
def test_signatures_over_other_bytes_are_refused(
    client: Client, user: Any, token: str, mangle: str
) -> None:
    """The signature covers the exact serialization: equivalent JSON or base64 does not verify."""
    head, body, signature = token.split(".")
    raw_signature = base64.urlsafe_b64decode(signature + "==")
    header_json = json.loads(base64.urlsafe_b64decode(head + "=="))
    payload_json = base64.urlsafe_b64decode(body + "==")
    forged = {
        "doubled": f"{head}.{body}.{signature}{signature}",
        "extra-byte": f"{head}.{body}.{b64url(raw_signature + b'0')}",
        "zero-bytes": f"{head}.{body}.{b64url(bytes(len(raw_signature)))}",
        "header-padding": f"{b64url(json.dumps(header_json).encode() + b' ')}.{body}.{signature}",
        "header-whitespace": (
            f"{b64url(json.dumps(header_json, indent=1).encode())}.{body}.{signature}"
        ),
        "header-reordered": (
            f"{b64url(json.dumps(header_json, sort_keys=True).encode())}.{body}.{signature}"
        ),
        "payload-whitespace": f"{head}.{b64url(b' ' + payload_json + b' ')}.{signature}",
        "payload-padding": f"{head}.{b64url(payload_json + NEWLINE)}.{signature}",
    }[mangle]
    assert forged != token
    assert_invalid_token(call(client, _store(forged, user)))


@pytest.mark.parametrize(
    "reencode",
    ["noncanonical-last-char", "standard-alphabet", "padded", "padding-only"],
)
def test_reencoded_signature_of_a_real_token_is_refused_in_strict_mode(
    client: Client, user: Any, token: str, reencode: str
) -> None:
    """Another spelling of the same signature bytes is another token: it has no row.

    Strict mode binds the exact string (DOT's checksum), so base64 malleability
    of the signature segment yields nothing (stateless mode would accept the
    same claims; see docs/security.md).
    """
    head, body, signature = token.split(".")
    raw_signature = base64.urlsafe_b64decode(signature + "==")
    spelled = {
        "noncanonical-last-char": signature[:-1] + ("B" if signature[-1] == "A" else "A"),
        "standard-alphabet": base64.b64encode(raw_signature).decode().rstrip("="),
        "padded": base64.urlsafe_b64encode(raw_signature).decode(),
        "padding-only": "==",
    }[reencode]
    forged = f"{head}.{body}.{spelled}"
    assert forged != token
    assert_invalid_token(call(client, forged))
    assert call(client, token).status_code == 200


@pytest.mark.parametrize(
    ("name", "value", "last"),
    [
        ("alg", "RS256", "none"),
        ("typ", "at+jwt", "JWT"),
        ("kid", None, "unknown-kid"),
    ],
)
def test_duplicate_header_members_take_the_last_value_and_are_refused(
    client: Client, user: Any, token: str, name: str, value: Any, last: str
) -> None:
    """RFC 7515 §5.2: the lexically last duplicate wins; here it names something refused."""
    header = header_of(token)
    first = value if value is not None else header[name]
    members = [f'"{key}":{json.dumps(val)}' for key, val in header.items() if key != name]
    text = "{" + ",".join([f'"{name}":{json.dumps(first)}', *members]) + f',"{name}":"{last}"' + "}"
    private_key = keys.current_signing_key().private_key
    signing_input = compact(text.encode(), claims_of(token))
    signer = jwt.algorithms.get_default_algorithms()["RS256"]
    signature = signer.sign(signing_input.encode(), signer.prepare_key(private_key))
    assert_invalid_token(call(client, _store(f"{signing_input}.{b64url(signature)}", user)))


@pytest.mark.parametrize("parts", [2, 4, 5, 6])
def test_tokens_of_another_shape_are_refused(
    client: Client, user: Any, token: str, parts: int
) -> None:
    segments = token.split(".")
    filler = [b64url(b"x" * 16)] * 6
    forged = ".".join((segments + filler)[:parts])
    assert_invalid_token(call(client, forged))


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "RSA-OAEP-256", "enc": "A256GCM"},
        {"alg": "dir", "enc": "A128CBC-HS256"},
        {"alg": "RSA-OAEP", "enc": "A256GCM", "typ": "at+jwt", "cty": "JWT"},
    ],
)
def test_jwe_is_refused(client: Client, user: Any, token: str, header: dict[str, Any]) -> None:
    """RFC 7516 five-part JWE, and a JWS whose header carries ``enc``, are never decrypted."""
    parts = [b64url(json.dumps(header).encode())] + [b64url(b"\x00" * 32)] * 4
    assert_invalid_token(call(client, ".".join(parts)))
    forged = forge(token, user=user, headers={"enc": header["enc"]})
    assert_invalid_token(call(client, forged))


def _self_signed_certificate(private_key: rsa.RSAPrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "issuer.test")])
    now = dt.datetime.now(tz=dt.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(private_key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.DER)


@pytest.mark.parametrize("kid", ["attacker", "real", None])
@pytest.mark.parametrize("parameter", ["jwk", "jku", "x5u", "x5c"])
def test_attacker_supplied_keys_are_refused_without_any_request(
    client: Client,
    user: Any,
    token: str,
    no_outbound: NetworkGuard,
    json_server: Callable[[dict[str, Any]], JsonServer],
    parameter: str,
    kid: str | None,
) -> None:
    """RFC 8725 §3.10: a token never brings or points at its own key; nothing is fetched."""
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    attacker_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(attacker.public_key()))
    attacker_kid = keys.thumbprint(attacker_jwk)
    attacker_jwk.update({"kid": attacker_kid, "alg": "RS256", "use": "sig"})
    server = json_server({"keys": [attacker_jwk]})
    values: dict[str, Any] = {
        "jwk": attacker_jwk,
        "jku": f"{server.url}/jwks.json",
        "x5u": f"{server.url}/cert.pem",
        "x5c": [base64.b64encode(_self_signed_certificate(attacker)).decode()],
    }
    header: dict[str, Any] = {**header_of(token), parameter: values[parameter]}
    if kid == "attacker":
        header["kid"] = attacker_kid
    elif kid is None:
        header.pop("kid")
    forged = _store(sign({**header, "alg": "RS256"}, claims_of(token), attacker), user)
    assert_invalid_token(call(client, forged))
    # Remote URLs on other hosts too: the guard fails the test on any lookup.
    for url in ("https://attacker.example/jwks.json", "http://169.254.169.254/latest/"):
        if parameter in {"jku", "x5u"}:
            remote = sign({**header, parameter: url, "alg": "RS256"}, claims_of(token), attacker)
            assert_invalid_token(call(client, _store(remote, user)))
    assert server.hits == []


def test_jku_is_not_followed_by_a_stateless_resource_server(
    client: Client,
    user: Any,
    token: str,
    settings: Any,
    no_outbound: NetworkGuard,
    json_server: Callable[[dict[str, Any]], JsonServer],
) -> None:
    """With ``JWKS_URL`` set, only that URL is ever fetched, whatever the token names."""
    honest = json_server(keys.public_jwks())
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    attacker_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(attacker.public_key()))
    attacker_jwk.update({"kid": keys.thumbprint(attacker_jwk), "alg": "RS256", "use": "sig"})
    evil = json_server({"keys": [attacker_jwk]})
    settings.BEARER_AUTH = {
        **settings.BEARER_AUTH,
        "VERIFY_MODE": "stateless",
        "JWKS_URL": f"{honest.url}/.well-known/jwks.json",
    }
    assert call(client, token).status_code == 200
    forged = sign(
        {
            **header_of(token),
            "kid": attacker_jwk["kid"],
            "jku": f"{evil.url}/jwks.json",
            "alg": "RS256",
        },
        claims_of(token),
        attacker,
    )
    assert_invalid_token(call(client, forged))
    unknown_kid = sign(
        {**header_of(token), "kid": attacker_jwk["kid"], "alg": "RS256"}, claims_of(token), attacker
    )
    assert_invalid_token(call(client, unknown_kid))
    assert evil.hits == []
    assert set(honest.hits) == {"/.well-known/jwks.json"}


@pytest.mark.parametrize(
    "kid",
    [
        "k" * 129,
        "a\x00b",
        "a\r\nX-Injected: 1",
        "ключ",
        {"$ne": None},
        ["kid"],
        True,
        1.5,
        None,
    ],
)
def test_hostile_kid_values_are_refused(client: Client, user: Any, token: str, kid: Any) -> None:
    forged = sign(
        {**header_of(token), "kid": kid}, claims_of(token), keys.current_signing_key().private_key
    )
    assert_invalid_token(call(client, _store(forged, user)))


@pytest.mark.parametrize("change", ["swapcase", "trailing-space", "prefix"])
def test_kid_near_misses_are_refused(client: Client, user: Any, token: str, change: str) -> None:
    kid = keys.current_signing_key().kid
    near = {"swapcase": kid.swapcase(), "trailing-space": kid + " ", "prefix": kid[:-1]}[change]
    assert_invalid_token(call(client, forge(token, user=user, headers={"kid": near})))


def test_kid_of_a_retired_key_past_its_deadline_is_refused(
    client: Client, user: Any, token: str
) -> None:
    keys.rotate_signing_key()
    retired = [status for status in keys.describe_signing_keys() if status.state == "retired"]
    assert len(retired) == 1
    assert retired[0].verify_until is not None
    with time_machine.travel(retired[0].verify_until + dt.timedelta(seconds=1), tick=False):
        fresh = forge(
            token,
            user=user,
            key=keys.current_signing_key().private_key,
            claims={
                "iat": int(timezone.now().timestamp()),
                "exp": int(timezone.now().timestamp()) + 60,
            },
            headers={"kid": retired[0].kid},
        )
        assert_invalid_token(call(client, fresh))


@pytest.mark.parametrize(
    "headers",
    [
        {"crit": []},
        {"crit": "exp"},
        {"crit": ["b64"], "b64": False},
        {"b64": False},
        {"crit": ["x-custom"], "x-custom": 1},
        {"crit": ["kid"]},
        {"zip": "DEF"},
    ],
)
def test_critical_and_processing_headers_are_refused(
    client: Client, user: Any, token: str, headers: dict[str, Any]
) -> None:
    assert_invalid_token(call(client, forge(token, user=user, headers=headers)))


def test_hs256_token_is_refused_when_only_asymmetric_keys_exist(
    client: Client, user: Any, token: str
) -> None:
    """The allow-list is the one algorithm of the ``kid``'s key; HS256 never reaches a key."""
    attacker_secret = b"attacker-chosen-secret-0123456789abcdef"
    forged = sign({**header_of(token), "alg": "HS256"}, claims_of(token), attacker_secret)
    assert_invalid_token(call(client, _store(forged, user)))
    ec_key = ec.generate_private_key(ec.SECP256R1())
    assert_invalid_token(
        call(client, forge(token, user=user, key=ec_key, algorithm="ES256", headers={"kid": "x"}))
    )


def test_the_forging_helper_is_accepted_when_it_holds_the_real_secret(
    client: Client, user: Any, settings: Any
) -> None:
    """Control: with an HS256 server, ``_hmac_token`` and the real secret make a valid token.

    So every HMAC refusal above is the verifier's doing, not a broken forgery;
    and even the real secret is refused under another HMAC algorithm.
    """
    secret = b"a-shared-secret-of-more-than-32-bytes-0123"
    settings.BEARER_AUTH = {
        **settings.BEARER_AUTH,
        "SIGNING_ALGORITHM": "HS256",
        "SIGNING_KEYS": [secret.decode()],
    }
    valid = issue_access_token(user)
    resigned = _hmac_token(valid, secret)
    assert resigned != valid
    assert call(client, _store(resigned, user)).status_code == 200
    for algorithm in ("HS384", "HS512"):
        assert_invalid_token(call(client, _store(_hmac_token(valid, secret, algorithm), user)))
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = sign({**header_of(valid), "alg": "RS256"}, claims_of(valid), attacker)
    assert_invalid_token(call(client, _store(forged, user)))


def test_an_async_stateless_check_fetches_a_remote_jwks_off_the_event_loop(
    user: Any,
    token: str,
    settings: Any,
    json_server: Callable[[dict[str, Any]], JsonServer],
) -> None:
    """A JWKS fetch is network I/O: async code fetches in a thread, then verifies on the loop."""
    honest = json_server(keys.public_jwks())
    settings.BEARER_AUTH = {
        **settings.BEARER_AUTH,
        "VERIFY_MODE": "stateless",
        "JWKS_URL": f"{honest.url}/.well-known/jwks.json",
    }
    authenticator = BearerTokenAuthenticator()
    with keys.without_io(), pytest.raises(keys.KeysNotLoaded):
        authenticator.authenticate_credentials(token)  # never seen: no fetch here
    assert honest.hits == []
    request = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert async_to_sync(authenticator.aauthenticate)(request) is not None
    assert honest.hits == ["/.well-known/jwks.json"]
    with keys.without_io():  # found before: verified with no I/O
        assert authenticator.authenticate_credentials(token)[1].claims["sub"]
    assert honest.hits == ["/.well-known/jwks.json"]
