"""``manage.py bearer_keys rotate|list|prune``."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.management import call_command
from django.core.management.base import CommandError

from bearer_auth import keys
from bearer_auth.models import SigningKey

pytestmark = pytest.mark.django_db

GRACE = timedelta(minutes=5, seconds=30)


def run(*args: str) -> str:
    out = StringIO()
    call_command("bearer_keys", *args, stdout=out)
    return out.getvalue()


def test_rotate_makes_a_new_active_key_and_retires_the_old_one() -> None:
    old = keys.current_signing_key()

    output = run("rotate", "--algorithm", "ES256")

    new = SigningKey.objects.get(active=True)
    assert output == f"New active signing key {new.kid} (ES256).\n"
    assert new.algorithm == "ES256"
    assert SigningKey.objects.get(kid=old.kid).active is None
    assert keys.current_signing_key().kid == new.kid


def test_rotate_uses_the_configured_algorithm_by_default(settings: Any) -> None:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "SIGNING_ALGORITHM": "EdDSA"}
    run("rotate")
    assert SigningKey.objects.get().algorithm == "EdDSA"


def test_rotate_refuses_unknown_algorithms() -> None:
    with pytest.raises(CommandError, match="invalid choice: 'HS256'"):
        run("rotate", "--algorithm", "HS256")
    assert not SigningKey.objects.exists()


def test_rotate_is_refused_when_keys_come_from_settings(settings: Any) -> None:
    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "SIGNING_KEYS": [pem]}
    with pytest.raises(CommandError, match="BEARER_AUTH\\['SIGNING_KEYS'\\]"):
        run("rotate")
    assert not SigningKey.objects.exists()
    listing = run("list")
    assert f"{keys.current_signing_key().kid}  ES256  configured" in listing
    assert "PRIVATE" not in listing


def test_list_shows_states_and_dates_and_no_private_material() -> None:
    with time_machine.travel("2030-01-01 12:00:00+00:00", tick=False) as traveller:
        expired = keys.rotate_signing_key(algorithm="RS256")
        traveller.shift(timedelta(minutes=1))
        retired = keys.rotate_signing_key(algorithm="ES256")
        traveller.shift(timedelta(minutes=10))
        active = keys.rotate_signing_key(algorithm="EdDSA")

        output = run("list")

    lines = output.splitlines()
    assert lines[0].split() == ["KID", "ALG", "STATE", "CREATED", "VERIFIES-UNTIL"]
    assert [line.split() for line in lines[1:]] == [
        [active.kid, "EdDSA", "active", "2030-01-01T12:11:00+00:00", "-"],
        [retired.kid, "ES256", "retired", "2030-01-01T12:01:00+00:00", "2030-01-01T12:16:30+00:00"],
        [expired.kid, "RS256", "expired", "2030-01-01T12:00:00+00:00", "2030-01-01T12:06:30+00:00"],
    ]
    for row in SigningKey.objects.all():
        assert row.encrypted_private_key[:20] not in output
    assert "PRIVATE" not in output
    assert '"d"' not in output


def test_list_without_keys() -> None:
    assert run("list") == "No signing keys yet; the first is created on first use.\n"
    assert not SigningKey.objects.exists()


def test_prune_deletes_expired_keys_only() -> None:
    with time_machine.travel("2030-01-01 12:00:00+00:00", tick=False) as traveller:
        expired = keys.rotate_signing_key()
        traveller.shift(timedelta(minutes=1))
        retired = keys.rotate_signing_key()
        traveller.shift(GRACE)
        active = keys.rotate_signing_key()
        traveller.shift(timedelta(seconds=1))

        assert run("prune") == "Pruned 1 expired signing key(s).\n"
        assert run("prune") == "Pruned 0 expired signing key(s).\n"
        assert set(SigningKey.objects.values_list("kid", flat=True)) == {retired.kid, active.kid}
        traveller.shift(GRACE)
        assert run("--verbosity", "0", "prune") == ""  # quiet for cron

    assert not SigningKey.objects.filter(kid__in=[expired.kid, retired.kid]).exists()
    assert SigningKey.objects.get().kid == active.kid


def test_an_action_is_required() -> None:
    with pytest.raises(CommandError, match="required"):
        run()
