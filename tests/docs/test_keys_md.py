"""docs/keys.md, run: SIGNING_KEYS from PEM files, the bearer_keys commands, the cron lines."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core import checks
from django.core.management import CommandError, call_command

from bearer_auth import keys
from bearer_auth.jwt import decode_access_token, mint_access_token
from tests.docs.markdown import sample, snippets, transcript
from tests.docs.replay import assert_text_like, cron_commands, manage

pytestmark = pytest.mark.django_db

PAGE = "docs/keys.md"
SIGNING_KEYS = sample(PAGE, "signing-keys")
BEARER_KEYS = sample(PAGE, "bearer-keys")
PRUNE_CRON = sample(PAGE, "prune-cron")
ROTATE_CRON = sample(PAGE, "rotate-cron")


def _pem_file(path: Path) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def _minted_kid(settings: Any, signing_keys: list[str]) -> tuple[str, str]:
    settings.BEARER_AUTH = {**settings.BEARER_AUTH, "SIGNING_KEYS": signing_keys}
    token = mint_access_token(user=None, client_id="a-client", scope="read").token
    return token, keys.current_signing_key().kid


def test_the_first_configured_key_signs_and_both_verify(settings: Any, tmp_path: Path) -> None:
    [part] = snippets(SIGNING_KEYS.block)
    documented = part.settings()["BEARER_AUTH"]["SIGNING_KEYS"]
    assert documented == [
        "/run/secrets/jwt-signing-2026-05.pem",
        "/run/secrets/jwt-signing-2026-02.pem",
    ]
    # The same list with real files at the two places.
    new, old = (str(_pem_file(tmp_path / Path(path).name)) for path in documented)
    old_token, old_kid = _minted_kid(settings, [old])
    token, kid = _minted_kid(settings, [new, old])
    assert kid != old_kid
    assert [
        message.id for message in checks.run_checks() if message.id.startswith("bearer_auth")
    ] == []
    assert decode_access_token(token)["client_id"] == "a-client"
    assert decode_access_token(old_token)["client_id"] == "a-client"
    assert {key["kid"] for key in keys.public_jwks()["keys"]} == {kid, old_kid}
    with pytest.raises(CommandError):
        call_command("bearer_keys", "rotate")


def test_the_commands_print_what_the_page_shows() -> None:
    keys.current_signing_key()  # the first key, RS256, made on first use
    exchanges = transcript(BEARER_KEYS.block)
    kids = {word for exchange in exchanges for line in exchange.output for word in line.split()}
    random = {word for word in kids if "…" in word}
    assert len(random) == 2
    bound: dict[str, str] = {}
    for exchange in exchanges:
        assert_text_like(exchange.output, manage(exchange.command), random=random, bound=bound)
    assert len(set(bound.values())) == 2


@pytest.mark.parametrize(
    ("claim", "printed"),
    [(PRUNE_CRON, ""), (ROTATE_CRON, "New active signing key ")],
    ids=["prune", "rotate"],
)
def test_the_cron_lines_run(claim: Any, printed: str) -> None:
    before = keys.current_signing_key().kid
    [arguments] = cron_commands(claim.block)
    assert arguments[0] == "bearer_keys"
    out = StringIO()
    call_command(*arguments, stdout=out)
    assert out.getvalue().startswith(printed)
    assert bool(printed) == (out.getvalue() != "")
    assert (keys.current_signing_key().kid != before) == (arguments[-1] == "rotate")
