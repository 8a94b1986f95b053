"""bearer_auth.keys: generation, kids, states, caching, SIGNING_KEYS and encryption at rest."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
import time_machine
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, connection, transaction
from django.test import override_settings
from django.utils import timezone
from jwcrypto.jwk import JWK

from bearer_auth import keys
from bearer_auth.keys import cache as key_cache
from bearer_auth.keys import store as key_store
from bearer_auth.models import ApplicationPolicy, SigningKey
from tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db

ASYMMETRIC = ("RS256", "ES256", "EdDSA")
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k", "oth")
# Default grace: ACCESS_TOKEN_LIFETIME (5 min) + LEEWAY (0) + KEY_CACHE_SECONDS (30 s).
GRACE = timedelta(minutes=5, seconds=30)
OTHER_PROCESS_CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "another-process",
    }
}


class FakeMonotonic:
    """Stands in for time.monotonic(), which time-machine does not move."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def monotonic(monkeypatch: pytest.MonkeyPatch) -> FakeMonotonic:
    clock = FakeMonotonic()
    monkeypatch.setattr(key_cache, "_monotonic", clock)
    return clock


@pytest.fixture
def committed(django_capture_on_commit_callbacks: Any) -> Any:
    """Run a block as if in autocommit: its on-commit callbacks run at its end."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def other_process(monkeypatch: pytest.MonkeyPatch, committed: Any) -> Any:
    """Run a block as another process would: its own empty process cache, committed.

    It also has its own Django cache, as every process has with ``LocMemCache``
    (Django's default): nothing this process can see in a cache.
    """

    @contextmanager
    def run() -> Iterator[None]:
        ours = key_cache._process
        monkeypatch.setattr(key_cache, "_process", key_cache._ProcessCache())
        try:
            with override_settings(CACHES=OTHER_PROCESS_CACHES), committed():
                yield
        finally:
            monkeypatch.setattr(key_cache, "_process", ours)

    return run


def first_key(committed: Any) -> keys.SigningMaterial:
    """Create the first key as a request in autocommit would, and warm the cache."""
    with committed():
        keys.current_signing_key()
    material = keys.current_signing_key()
    assert keys.verification_key(material.kid) is not None
    return material


def with_bearer(settings: Any, **values: Any) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, **values}


def pem(private_key: Any) -> str:
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def new_private_key(algorithm: str) -> Any:
    if algorithm == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    return ed25519.Ed25519PrivateKey.generate()


def sign_and_verify(material: keys.SigningMaterial, key: keys.VerificationKey) -> dict[str, Any]:
    token = jwt.encode({"sub": "x"}, material.private_key, algorithm=material.algorithm)
    return jwt.decode(token, key.public_key, algorithms=[key.algorithm])


# Thumbprints and generation.


def test_thumbprint_matches_rfc_7638_example() -> None:
    # RFC 7638 §3.1.
    jwk = {
        "kty": "RSA",
        "n": (
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tS"
            "oc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65Y"
            "GjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdk"
            "t-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqD"
            "Kgw"
        ),
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert keys.thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@pytest.mark.parametrize("algorithm", ASYMMETRIC)
def test_rotate_generates_a_key_of_each_algorithm(algorithm: str) -> None:
    row = keys.rotate_signing_key(algorithm=algorithm)

    row.refresh_from_db()
    assert row.algorithm == algorithm
    assert row.active is True
    jwk = row.public_jwk
    assert jwk["alg"] == algorithm
    assert jwk["use"] == "sig"
    assert jwk["kid"] == row.kid == keys.thumbprint(jwk)
    # An independent implementation computes the same RFC 7638 thumbprint.
    assert JWK(**jwk).thumbprint() == row.kid
    assert not set(PRIVATE_MEMBERS) & set(jwk)
    material = keys.current_signing_key()
    assert (material.kid, material.algorithm) == (row.kid, algorithm)
    verification = keys.verification_key(row.kid)
    assert verification is not None
    assert verification.algorithm == algorithm
    assert verification.verify_until is None
    assert sign_and_verify(material, verification) == {"sub": "x"}


def test_generated_rsa_key_is_2048_bits() -> None:
    keys.rotate_signing_key(algorithm="RS256")
    assert keys.current_signing_key().private_key.key_size == 2048


def test_generated_ec_key_is_p256() -> None:
    keys.rotate_signing_key(algorithm="ES256")
    assert isinstance(keys.current_signing_key().private_key.curve, ec.SECP256R1)


def test_hs256_is_never_generated() -> None:
    with pytest.raises(ImproperlyConfigured, match="Cannot generate"):
        keys.rotate_signing_key(algorithm="HS256")
    assert not SigningKey.objects.exists()


def test_first_key_is_created_on_first_use_with_the_configured_algorithm(settings: Any) -> None:
    with_bearer(settings, SIGNING_ALGORITHM="ES256")
    assert not SigningKey.objects.exists()

    first = keys.current_signing_key()
    again = keys.current_signing_key()

    row = SigningKey.objects.get()
    assert row.active is True
    assert first == again
    assert (first.kid, first.algorithm) == (row.kid, "ES256")


# At most one active key.


def test_database_refuses_a_second_active_key() -> None:
    keys.current_signing_key()
    duplicate = key_store._new_key_row("ES256")
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save(force_insert=True)
    assert SigningKey.objects.filter(active=True).count() == 1


def test_losing_the_first_key_race_uses_the_winners_key(monkeypatch: pytest.MonkeyPatch) -> None:
    # Another process inserts its key between our "no key yet" and our insert.
    real_new_key_row = key_store._new_key_row
    winner: list[SigningKey] = []

    def new_key_row_after_rival(algorithm: str) -> SigningKey:
        rival = real_new_key_row("EdDSA")
        rival.save(force_insert=True)
        winner.append(rival)
        return real_new_key_row(algorithm)

    monkeypatch.setattr(key_store, "_new_key_row", new_key_row_after_rival)

    material = keys.current_signing_key()

    assert material.kid == winner[0].kid
    assert SigningKey.objects.get().kid == winner[0].kid


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_first_use_creates_exactly_one_active_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    threads_count = 8
    barrier = threading.Barrier(threads_count)
    kids: list[str] = []
    errors: list[BaseException] = []
    generated: list[str] = []
    real_new_key_row = key_store._new_key_row

    def counting_new_key_row(algorithm: str) -> SigningKey:
        row = real_new_key_row(algorithm)
        generated.append(row.kid)
        return row

    monkeypatch.setattr(key_store, "_new_key_row", counting_new_key_row)

    def first_use() -> None:
        try:
            barrier.wait()
            kids.append(keys.current_signing_key().kid)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    keys.clear_key_cache()
    threads = [threading.Thread(target=first_use) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(generated) > 1  # the threads really raced to insert
    assert len(kids) == threads_count
    assert len(set(kids)) == 1
    assert SigningKey.objects.count() == 1
    assert SigningKey.objects.get().kid == kids[0]


# States: active -> retired -> prunable.


def test_rotation_retires_the_old_key_which_verifies_until_its_deadline() -> None:
    with time_machine.travel("2030-01-01 12:00:00+00:00", tick=False) as traveller:
        old = keys.current_signing_key()
        token = jwt.encode({"sub": "x"}, old.private_key, algorithm=old.algorithm)

        new_row = keys.rotate_signing_key()

        old_row = SigningKey.objects.get(kid=old.kid)
        assert old_row.active is None
        assert old_row.retired_at == timezone.now()
        assert keys.current_signing_key().kid == new_row.kid != old.kid
        retired = keys.verification_key(old.kid)
        assert retired is not None
        assert retired.verify_until == old_row.retired_at + GRACE
        assert jwt.decode(token, retired.public_key, algorithms=[retired.algorithm])

        traveller.move_to(old_row.retired_at + GRACE)
        assert keys.verification_key(old.kid) == retired

        traveller.move_to(old_row.retired_at + GRACE + timedelta(microseconds=1))
        assert keys.verification_key(old.kid) is None
        assert keys.verification_key(new_row.kid) is not None


def test_deadline_counts_leeway_and_longest_application_lifetime(settings: Any) -> None:
    with_bearer(settings, LEEWAY=timedelta(seconds=10), KEY_CACHE_SECONDS=5)
    ApplicationPolicy.objects.create(
        application=ApplicationFactory(), access_token_lifetime=timedelta(minutes=12)
    )
    ApplicationPolicy.objects.create(application=ApplicationFactory())  # default lifetime
    keys.current_signing_key()
    old = keys.rotate_signing_key()
    keys.rotate_signing_key()

    retired_at = SigningKey.objects.get(kid=old.kid).retired_at
    assert retired_at is not None
    expected = retired_at + timedelta(minutes=12, seconds=15)
    retired = keys.verification_key(old.kid)
    assert retired is not None
    assert retired.verify_until == expected
    assert keys.verification_deadline(retired_at) == expected


def test_prune_removes_only_expired_retired_keys() -> None:
    with time_machine.travel("2030-01-01 12:00:00+00:00", tick=False) as traveller:
        expired = keys.rotate_signing_key()
        traveller.shift(timedelta(minutes=1))
        retired = keys.rotate_signing_key()  # retires `expired` at 12:01
        traveller.shift(GRACE)
        active = keys.rotate_signing_key()  # retires `retired` at 12:06:30

        traveller.shift(timedelta(seconds=1))  # `expired`: 1 s past its deadline
        assert keys.prune_signing_keys() == 1
        assert set(SigningKey.objects.values_list("kid", flat=True)) == {retired.kid, active.kid}
        assert keys.verification_key(expired.kid) is None
        assert keys.verification_key(retired.kid) is not None

        assert keys.prune_signing_keys() == 0
        traveller.shift(GRACE)
        assert keys.prune_signing_keys() == 1
        assert list(SigningKey.objects.values_list("kid", flat=True)) == [active.kid]


# The process-local cache.


def test_verification_key_hits_neither_database_nor_cache(
    django_assert_num_queries: Any,
    monkeypatch: pytest.MonkeyPatch,
    monotonic: FakeMonotonic,
    committed: Any,
) -> None:
    kid = first_key(committed).kid

    def no_cache(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the shared cache was read on the hot path")

    monkeypatch.setattr(cache, "get", no_cache)
    monotonic.now += 29.9
    with django_assert_num_queries(0):
        for _ in range(100):
            assert keys.verification_key(kid) is not None
            assert keys.current_signing_key().kid == kid


def test_unchanged_version_means_no_rebuild_after_the_interval(
    django_assert_num_queries: Any, monotonic: FakeMonotonic, committed: Any
) -> None:
    kid = first_key(committed).kid
    monotonic.now += 3600
    with django_assert_num_queries(1) as queries:  # the version, equal: no rebuild
        assert keys.verification_key(kid) is not None
        for _ in range(100):  # and none until the next interval
            assert keys.verification_key(kid) is not None
            assert keys.current_signing_key().kid == kid
    assert "bearer_auth_signingkey" in queries.captured_queries[0]["sql"]


def test_made_up_kids_read_the_version_at_most_once_a_second(
    django_assert_num_queries: Any, monotonic: FakeMonotonic, committed: Any
) -> None:
    first_key(committed)
    for _ in range(3):
        monotonic.now += 1
        with django_assert_num_queries(1):
            for _ in range(50):
                assert keys.verification_key("made-up-kid") is None
                monotonic.now += 0.0199


def test_unknown_kids_cost_one_query_a_second(
    django_assert_num_queries: Any, monotonic: FakeMonotonic, committed: Any
) -> None:
    first_key(committed)
    with django_assert_num_queries(1):  # the version, unchanged: no rebuild
        for _ in range(10):
            assert keys.verification_key("made-up-kid") is None


def test_rotation_elsewhere_is_seen_within_key_cache_seconds(
    settings: Any, monotonic: FakeMonotonic, other_process: Any, committed: Any
) -> None:
    with_bearer(settings, KEY_CACHE_SECONDS=30)
    old = first_key(committed)  # this process has its copy

    with other_process():
        new = keys.rotate_signing_key()  # a new row: a new version
        assert keys.current_signing_key().kid == new.kid

    # Within the bound this process may still sign with the old key ...
    monotonic.now += 29.999
    assert keys.current_signing_key().kid == old.kid
    # ... which therefore keeps verifying (its deadline includes the bound);
    # at the bound it has seen the rotation.
    monotonic.now += 0.001
    assert keys.current_signing_key().kid == new.kid
    retired = keys.verification_key(old.kid)
    assert retired is not None
    assert retired.verify_until is not None


def test_new_key_from_another_process_verifies_at_once(
    monotonic: FakeMonotonic, other_process: Any, committed: Any
) -> None:
    first_key(committed)
    monotonic.now += 30
    assert keys.current_signing_key()  # a periodic read, just before the rotation
    with other_process():
        new = keys.rotate_signing_key()
    # No clock movement: an unknown kid makes this process read the version.
    key = keys.verification_key(new.kid)
    assert key is not None
    assert key.kid == new.kid


def test_made_up_kids_delay_a_new_key_by_a_second_at_most(
    monotonic: FakeMonotonic, other_process: Any, committed: Any
) -> None:
    first_key(committed)
    assert keys.verification_key("made-up-kid") is None  # reads the version
    with other_process():
        new = keys.rotate_signing_key()
    monotonic.now += 0.999
    assert keys.verification_key(new.kid) is None
    monotonic.now += 0.001
    assert keys.verification_key(new.kid) is not None


def test_key_pruned_elsewhere_is_already_gone_here(
    monotonic: FakeMonotonic, other_process: Any, committed: Any
) -> None:
    # Pruning only drops keys past their deadline, which no process serves any more.
    with time_machine.travel("2030-01-01 12:00:00+00:00", tick=False) as traveller:
        old = first_key(committed)
        with committed():
            new = keys.rotate_signing_key()
        assert keys.verification_key(old.kid) is not None
        traveller.shift(GRACE + timedelta(seconds=1))
        with other_process():
            assert keys.prune_signing_keys() == 1
        assert keys.verification_key(old.kid) is None
        assert [jwk["kid"] for jwk in keys.public_jwks()["keys"]] == [new.kid]


def test_rotation_and_prune_elsewhere_reach_this_process_within_key_cache_seconds(
    monotonic: FakeMonotonic, other_process: Any, committed: Any
) -> None:
    # Issue 19 item 10: with a per-process cache, this process went on signing
    # with the rotated (then pruned) key and accepting its tokens.
    with time_machine.travel("2030-01-01 12:00:00+00:00", tick=False) as traveller:
        old = first_key(committed)
        with other_process():
            new = keys.rotate_signing_key()
        monotonic.now += 30
        traveller.shift(timedelta(seconds=30))
        assert keys.current_signing_key().kid == new.kid
        assert [jwk["kid"] for jwk in keys.public_jwks()["keys"]] == [new.kid, old.kid]

        traveller.shift(GRACE)
        with other_process():
            assert keys.prune_signing_keys() == 1
            theirs = keys.public_jwks()
        monotonic.now += 30
        assert keys.current_signing_key().kid == new.kid
        assert keys.verification_key(old.kid) is None
        assert keys.public_jwks() == theirs
        assert [jwk["kid"] for jwk in theirs["keys"]] == [new.kid]


def test_version_changes_with_every_committed_change(committed: Any) -> None:
    versions = [key_cache._database_version()]
    with time_machine.travel("2030-01-01 12:00:00+00:00", tick=False) as traveller:
        with committed():
            keys.current_signing_key()  # the first key
        versions.append(key_cache._database_version())
        with committed():
            keys.rotate_signing_key()
        versions.append(key_cache._database_version())
        traveller.shift(GRACE + timedelta(seconds=1))
        with committed():
            assert keys.prune_signing_keys() == 1
        versions.append(key_cache._database_version())
    assert len(set(versions)) == len(versions)
    # The copy is built at the version the database reports: no rebuild when equal.
    assert keys.current_signing_key()
    assert key_cache._process.key_set is not None
    assert key_cache._process.key_set.version == versions[-1]


class RolledBack(Exception):
    pass


def rotate_then_roll_back() -> None:
    with transaction.atomic():
        phantom = keys.rotate_signing_key()
        assert keys.current_signing_key().kid == phantom.kid  # cached in the transaction
        raise RolledBack(phantom.kid)


def test_rolled_back_rotation_is_forgotten_within_key_cache_seconds(
    monotonic: FakeMonotonic, committed: Any
) -> None:
    old = first_key(committed)
    with pytest.raises(RolledBack) as rolled_back:
        rotate_then_roll_back()
    phantom_kid = str(rolled_back.value)

    assert SigningKey.objects.get().kid == old.kid
    monotonic.now += 30
    assert keys.current_signing_key().kid == old.kid
    assert keys.verification_key(phantom_kid) is None


# Keys from BEARER_AUTH["SIGNING_KEYS"].


@pytest.mark.parametrize("algorithm", ASYMMETRIC)
def test_signing_keys_from_pem_strings(
    settings: Any, algorithm: str, django_assert_num_queries: Any
) -> None:
    first, second = new_private_key(algorithm), new_private_key("ES256")
    with_bearer(settings, SIGNING_KEYS=[pem(first), pem(second)])

    with django_assert_num_queries(0):
        material = keys.current_signing_key()
        jwks = keys.public_jwks()["keys"]
        verifying = [keys.verification_key(jwk["kid"]) for jwk in jwks]

    assert material.algorithm == algorithm
    assert material.kid == jwks[0]["kid"] == keys.thumbprint(jwks[0])
    assert [jwk["alg"] for jwk in jwks] == [algorithm, "ES256"]
    assert all(key is not None and key.verify_until is None for key in verifying)
    assert verifying[0] is not None
    assert sign_and_verify(material, verifying[0]) == {"sub": "x"}
    assert not SigningKey.objects.exists()


def test_signing_keys_from_a_file_path(settings: Any, tmp_path: Path) -> None:
    private_key = new_private_key("EdDSA")
    path = tmp_path / "signing.pem"
    path.write_text(pem(private_key))
    with_bearer(settings, SIGNING_KEYS=[str(path)])

    material = keys.current_signing_key()

    assert material.algorithm == "EdDSA"
    assert material.private_key.private_bytes_raw() == private_key.private_bytes_raw()


def test_signing_keys_from_settings_cannot_be_rotated(settings: Any) -> None:
    with_bearer(settings, SIGNING_KEYS=[pem(new_private_key("ES256"))])
    with pytest.raises(ImproperlyConfigured, match="SIGNING_KEYS"):
        keys.rotate_signing_key()
    assert not SigningKey.objects.exists()


def test_signing_keys_replace_database_keys(settings: Any) -> None:
    database_kid = keys.current_signing_key().kid
    with_bearer(settings, SIGNING_KEYS=[pem(new_private_key("ES256"))])
    assert keys.current_signing_key().kid != database_kid
    assert keys.verification_key(database_kid) is None
    assert database_kid not in {jwk["kid"] for jwk in keys.public_jwks()["keys"]}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (lambda: pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)), "2048"),  # noqa: S505
        (lambda: pem(ec.generate_private_key(ec.SECP384R1())), "P-256"),
        (lambda: "/nonexistent/signing-key.pem", "readable PEM file"),
        (
            lambda: (
                new_private_key("ES256")
                .public_key()
                .public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
                .decode()
            ),
            "unencrypted PEM private key",
        ),
    ],
    ids=["rsa-1024", "p-384", "missing-file", "public-key"],
)
def test_unusable_signing_keys_are_refused_without_echoing_them(
    settings: Any, entry: Any, message: str
) -> None:
    value = entry()
    with_bearer(settings, SIGNING_KEYS=[value])
    with pytest.raises(ImproperlyConfigured, match=message) as raised:
        keys.current_signing_key()
    assert value not in str(raised.value)
    assert "SIGNING_KEYS'][0]" in str(raised.value)


def test_hs256_uses_the_configured_secret_and_publishes_nothing(settings: Any) -> None:
    secret = "s" * 32
    with_bearer(settings, SIGNING_ALGORITHM="HS256", SIGNING_KEYS=[secret, "t" * 40])

    material = keys.current_signing_key()
    verification = keys.verification_key(material.kid)

    assert material.algorithm == "HS256"
    assert material.private_key == secret.encode()
    assert verification is not None
    assert verification.algorithm == "HS256"
    assert sign_and_verify(material, verification) == {"sub": "x"}
    oct_jwk = {"kty": "oct", "k": base64.urlsafe_b64encode(secret.encode()).rstrip(b"=").decode()}
    assert material.kid == JWK(**oct_jwk).thumbprint()
    assert keys.public_jwks() == {"keys": []}
    assert not SigningKey.objects.exists()


def test_hs256_secret_shorter_than_32_bytes_is_refused(settings: Any) -> None:
    with_bearer(settings, SIGNING_ALGORITHM="HS256", SIGNING_KEYS=["s" * 32, "x" * 31])
    with pytest.raises(ImproperlyConfigured, match=r"\[1\] is shorter than 32 bytes"):
        keys.current_signing_key()


def test_hs256_without_a_secret_is_refused(settings: Any) -> None:
    with_bearer(settings, SIGNING_ALGORITHM="HS256")
    with pytest.raises(ImproperlyConfigured, match="HS256 needs a shared secret"):
        keys.current_signing_key()
    assert not SigningKey.objects.exists()


def test_hs256_refuses_a_pem_key_as_secret(settings: Any) -> None:
    with_bearer(settings, SIGNING_ALGORITHM="HS256", SIGNING_KEYS=[pem(new_private_key("ES256"))])
    with pytest.raises(ImproperlyConfigured, match="not a PEM key"):
        keys.current_signing_key()


# Encryption at rest.


def dump_signing_key_table() -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {SigningKey._meta.db_table}")  # noqa: S608
        return "\n".join(str(value) for row in cursor.fetchall() for value in row)


def test_database_dump_holds_no_usable_private_key() -> None:
    private_keys = []
    for algorithm in ASYMMETRIC:
        keys.rotate_signing_key(algorithm=algorithm)
        private_keys.append(keys.current_signing_key().private_key)

    dump = dump_signing_key_table()

    assert SigningKey.objects.count() == 3
    assert "PRIVATE KEY" not in dump
    assert "-----BEGIN" not in dump
    for private_key in private_keys:
        der = private_key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        assert base64.b64encode(der).decode()[:40] not in dump
        assert der.hex()[:40] not in dump
        private_jwk = json.loads(
            jwt.get_algorithm_by_name(
                "RS256"
                if isinstance(private_key, rsa.RSAPrivateKey)
                else "ES256"
                if isinstance(private_key, ec.EllipticCurvePrivateKey)
                else "EdDSA"
            ).to_jwk(private_key)
        )
        for member in PRIVATE_MEMBERS:
            if member in private_jwk:
                assert private_jwk[member] not in dump
    for row in SigningKey.objects.all():
        assert not set(PRIVATE_MEMBERS) & set(row.public_jwk)


def test_another_secret_key_cannot_decrypt_stored_keys(settings: Any) -> None:
    kid = keys.current_signing_key().kid
    settings.SECRET_KEY = "a-different-secret-key-of-the-same-kind-0123456789"

    with pytest.raises(ImproperlyConfigured, match=f"Cannot decrypt signing key {kid}"):
        keys.current_signing_key()


def test_secret_key_fallbacks_decrypt_after_a_secret_key_rotation(settings: Any) -> None:
    old_secret = settings.SECRET_KEY
    kid = keys.current_signing_key().kid
    settings.SECRET_KEY = "a-different-secret-key-of-the-same-kind-0123456789"
    settings.SECRET_KEY_FALLBACKS = [old_secret]

    assert keys.current_signing_key().kid == kid
    # A new key is encrypted with the new SECRET_KEY: the fallback can then go.
    new_kid = keys.rotate_signing_key().kid
    settings.SECRET_KEY_FALLBACKS = []
    assert keys.current_signing_key().kid == new_kid


def test_key_encryption_key_replaces_secret_key(settings: Any) -> None:
    with_bearer(settings, KEY_ENCRYPTION_KEY="kek-" + "k" * 40)
    kid = keys.current_signing_key().kid

    settings.SECRET_KEY = "a-different-secret-key-of-the-same-kind-0123456789"
    assert keys.current_signing_key().kid == kid

    with_bearer(settings, KEY_ENCRYPTION_KEY=["new-kek-" + "n" * 40])
    with pytest.raises(ImproperlyConfigured, match="Cannot decrypt"):
        keys.current_signing_key()
    with_bearer(settings, KEY_ENCRYPTION_KEY=["new-kek-" + "n" * 40, "kek-" + "k" * 40])
    assert keys.current_signing_key().kid == kid
