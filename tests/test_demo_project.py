"""The demo project, run as a user runs it: ``manage.py`` in a child process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest

from tests.processes import ROOT, DemoServer, child_env, run_gunicorn_demo, run_make_demo

pytestmark = pytest.mark.slow


def _manage(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    child_env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "DEBUG", "SECRET_KEY"}
    }
    child_env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}", **env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=child_env,
        capture_output=True,
        text=True,
        check=False,
    )


def _authenticates(tmp_path: Path, email: str, password: str) -> bool:
    code = (
        "from django.contrib.auth import authenticate;"
        f"print(authenticate(email={email!r}, password={password!r}) is not None)"
    )
    result = _manage(tmp_path, "shell", "-c", code)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1] == "True"


def test_demo_setup_generates_a_fresh_password_each_run(tmp_path: Path) -> None:
    assert _manage(tmp_path, "migrate", "--noinput").returncode == 0
    first = _manage(tmp_path, "demo_setup")
    second = _manage(tmp_path, "demo_setup")
    assert first.returncode == 0, first.stderr
    passwords = [
        line.split()[-1]
        for result in (first, second)
        for line in result.stdout.splitlines()
        if "password:" in line
    ]
    assert len(passwords) == 2
    assert passwords[0] != passwords[1]
    assert "email:    admin@example.com" in second.stdout
    assert not _authenticates(tmp_path, "admin@example.com", passwords[0])
    assert _authenticates(tmp_path, "admin@example.com", passwords[1])


def test_demo_setup_takes_credentials_from_the_environment(tmp_path: Path) -> None:
    assert _manage(tmp_path, "migrate", "--noinput").returncode == 0
    result = _manage(
        tmp_path,
        "demo_setup",
        DJANGO_SUPERUSER_EMAIL="Owner@Example.com",
        DJANGO_SUPERUSER_PASSWORD="from-the-env-123",
    )
    assert result.returncode == 0, result.stderr
    assert "email:    Owner@example.com" in result.stdout
    assert "password: from-the-env-123" in result.stdout
    assert _authenticates(tmp_path, "owner@example.com", "from-the-env-123")


def test_check_deploy_flags_the_demo_defaults(tmp_path: Path) -> None:
    result = _manage(tmp_path, "check", "--deploy")
    output = result.stdout + result.stderr
    assert "security.W018" in output  # DEBUG on
    assert "security.W009" in output  # the demo SECRET_KEY


def _check_ids(output: str, *prefixes: str) -> list[str]:
    """The ids of the system-check messages in ``output`` that start with one of ``prefixes``."""
    pattern = "|".join(re.escape(prefix) for prefix in prefixes)
    return sorted(set(re.findall(rf"\(((?:{pattern})\.[EWIC]\d+)\)", output)))


def test_check_deploy_reports_nothing_of_bearer_auth_or_dot(tmp_path: Path) -> None:
    """The shipped configuration passes bearer_auth's and DOT's (RFC 9700) deploy checks.

    Django's own warnings about the demo's DEBUG, SECRET_KEY and http
    cookies are expected: the environment provides those in production.
    """
    result = _manage(tmp_path, "check", "--deploy")
    output = result.stdout + result.stderr
    assert "security.W018" in output  # the run did report (DEBUG on)
    assert _check_ids(output, "bearer_auth", "oauth2_provider") == []
    # Control: the same run with the issuer unset shows bearer_auth's error.
    unset = _manage(tmp_path, "check", "--deploy", BEARER_AUTH_ISSUER="")
    assert _check_ids(unset.stdout + unset.stderr, "bearer_auth", "oauth2_provider") == [
        "bearer_auth.E009"
    ]


def test_check_passes_without_deploy(tmp_path: Path) -> None:
    result = _manage(tmp_path, "check")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def _sign_in_status(base_url: str, email: str, password: str) -> int:
    body = urllib.parse.urlencode({"email": email, "password": password}).encode()
    try:
        with urllib.request.urlopen(f"{base_url}/auth/token/", data=body, timeout=10) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_demo_throttle_budget_is_shared_by_gunicorn_workers(tmp_path: Path) -> None:
    """Issue 19 item 11: the demo's default cache is shared, so 4 workers keep one budget.

    With the local-memory cache each worker counted its own 5 failures a minute.
    """
    with run_gunicorn_demo(tmp_path, workers=4) as server:
        statuses = [
            _sign_in_status(server.base_url, server.email, "wrong password") for _ in range(16)
        ]
    assert 429 not in statuses[:5], statuses
    assert statuses[5:] == [429] * 11, statuses


# /client/oidc/: the demo client's OpenID Connect variant, driven with Django's test client.
#
# The walk runs in a child process on the demo's settings and SQLite file
# (this process runs tests.settings, without the demo's apps), beside
# ``make demo``: the client's views run in the child, and their server-to-server
# calls (token endpoint, discovery, JWKS, UserInfo) reach the demo server.

OIDC_CHECKS = ["alg", "signature", "iss", "aud", "exp", "nonce", "at_hash"]
CHECK_ROW = re.compile(r'data-check="([\w-]+)" data-passed="(true|false)"')
# A whole compact JWS (three base64url parts): a token that should never be on a page.
WHOLE_JWT = re.compile(r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]{20,}")


def walk_oidc_client(base_url: str, email: str, record: str) -> None:
    """Walk ``/client/oidc/`` as ``email``'s browser; write what it saw to the JSON file ``record``.

    Runs in the child process (:func:`_walk_in_child`), after ``django.setup()``.
    """
    import json

    from django.contrib.auth import get_user_model
    from django.test import Client

    from tests.oauth_client import form_fields, query_of

    host = urllib.parse.urlsplit(base_url).netloc
    browser = Client(HTTP_HOST=host)
    browser.force_login(get_user_model()._default_manager.get_by_natural_key(email))
    seen: dict[str, object] = {"start": browser.get("/client/oidc/").content.decode()}

    # Steps 2 and 3: the choice, and the redirect to the authorization endpoint.
    started = browser.post("/client/oidc/sign-in/", {"choice": "third-party"})
    seen["authorization"] = started["Location"]
    params = query_of(started["Location"])
    consent = browser.get("/o/authorize/", params)
    fields = {**form_fields(consent.content.decode()), "allow": "on"}
    answered = browser.post("/o/authorize/", fields)
    seen["callback"] = answered["Location"]
    # Step 4: the callback; steps 5 and 6: the exchange and the ID token's checks.
    callback = urllib.parse.urlsplit(answered["Location"])
    browser.get(f"{callback.path}?{callback.query}")
    browser.post("/client/oidc/token/")
    seen["validated"] = browser.get("/client/oidc/").content.decode()
    browser.post("/client/oidc/tamper/")
    seen["tampered"] = browser.get("/client/oidc/").content.decode()
    # Step 7: UserInfo.
    browser.post("/client/oidc/userinfo/")
    seen["userinfo"] = browser.get("/client/oidc/").content.decode()
    # Step 8: RP-initiated logout; a forged answer first, then the server's.
    seen["forged_signed_out_status"] = browser.get(
        "/client/oidc/signed-out/", {"state": "forged"}
    ).status_code
    logout = browser.post("/client/oidc/logout/")
    seen["logout"] = logout["Location"]
    ended = browser.get(logout["Location"], follow=True)
    seen["logout_chain"] = [url for url, _ in ended.redirect_chain]
    seen["signed_out"] = browser.get("/client/oidc/").content.decode()
    seen["admin_after_logout"] = browser.get("/admin/").status_code
    with open(record, "w", encoding="utf-8") as sink:
        json.dump(seen, sink)


def _walk_in_child(demo: DemoServer) -> dict[str, Any]:
    record = demo.output.parent / "oidc-walk.json"
    port = urllib.parse.urlsplit(demo.base_url).port
    environment = child_env(
        demo.output.parent, {"DJANGO_SETTINGS_MODULE": "demo_project.settings", "PORT": str(port)}
    )
    code = (
        "import django; django.setup(); from tests.test_demo_project import walk_oidc_client; "
        f"walk_oidc_client({demo.base_url!r}, {demo.email!r}, {str(record)!r})"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    seen: dict[str, Any] = json.loads(record.read_text())
    return seen


@pytest.fixture(scope="module")
def oidc_walk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``make demo``, and what the child's walk through ``/client/oidc/`` saw."""
    with run_make_demo(tmp_path_factory.mktemp("oidc-demo")) as demo:
        yield {"demo": demo, **_walk_in_child(demo)}


def _checks(html: str, prefix: str) -> dict[str, bool]:
    table = html.split(f'id="{prefix}-checks"', 1)[1].split("</table>", 1)[0]
    return {name: passed == "true" for name, passed in CHECK_ROW.findall(table)}


def _json_block(html: str, element_id: str) -> Any:
    block = html.split(f'<pre id="{element_id}">', 1)[1].split("</pre>", 1)[0]
    return json.loads(unescape(block))


def test_oidc_client_asks_for_openid_with_a_nonce(oidc_walk: dict[str, Any]) -> None:
    demo = oidc_walk["demo"]
    assert "/client/oidc/" in oidc_walk["start"]
    assert "openid email profile" in oidc_walk["start"]
    assert f"{demo.base_url}/client/oidc/signed-out/" in oidc_walk["start"]
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(oidc_walk["authorization"]).query))
    assert oidc_walk["authorization"].startswith(f"{demo.base_url}/o/authorize/?")
    assert params["scope"] == "openid email profile"
    assert params["redirect_uri"] == f"{demo.base_url}/client/oidc/callback/"
    assert params["code_challenge_method"] == "S256"
    assert len(params["nonce"]) >= 32
    assert f'<code id="nonce">{params["nonce"]}</code>' in oidc_walk["validated"]
    assert oidc_walk["callback"].startswith(f"{demo.base_url}/client/oidc/callback/?code=")


def test_oidc_client_validates_the_id_token_against_discovery(
    oidc_walk: dict[str, Any],
) -> None:
    demo, page = oidc_walk["demo"], oidc_walk["validated"]
    assert f"GET {demo.base_url}/.well-known/openid-configuration" in page
    assert f"&quot;jwks_uri&quot;: &quot;{demo.base_url}/.well-known/jwks.json&quot;" in page
    assert _checks(page, "id-token") == dict.fromkeys(OIDC_CHECKS, True)
    assert "ID token accepted: every check passed." in page
    header = _json_block(page, "id-token-header")
    claims = _json_block(page, "id-token-claims")
    assert header["typ"] == "JWT"
    assert header["alg"] == "RS256"
    assert f"verified with key {header['kid']} from {demo.base_url}/.well-known/jwks.json" in page
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(oidc_walk["authorization"]).query))
    assert claims["nonce"] == params["nonce"]
    assert claims["aud"] == params["client_id"]
    assert claims["iss"] == demo.base_url
    assert claims["email"] == demo.email
    assert claims["exp"] > claims["iat"]
    assert not WHOLE_JWT.search(page)


def test_oidc_client_shows_a_tampered_id_token_failing_its_signature(
    oidc_walk: dict[str, Any],
) -> None:
    page = oidc_walk["tampered"]
    assert _checks(page, "tampered") == {
        **dict.fromkeys(OIDC_CHECKS, True),
        "signature": False,
    }
    assert "ID token rejected: a check failed." in page
    assert "Not verified: Signature verification failed" in page
    tampered = _json_block(page, "tampered-claims")
    assert tampered["sub"] == "mallory"
    assert tampered["email"] == "mallory@example.com"
    # The genuine token's checks still stand beside it.
    assert _checks(page, "id-token") == dict.fromkeys(OIDC_CHECKS, True)
    assert _json_block(page, "id-token-claims")["email"] == oidc_walk["demo"].email


def test_oidc_client_reads_userinfo_with_the_access_token(oidc_walk: dict[str, Any]) -> None:
    demo, page = oidc_walk["demo"], oidc_walk["userinfo"]
    step_7 = page.split('id="step-7"', 1)[1].split('id="step-8"', 1)[0]
    assert f"GET {demo.base_url}/o/userinfo/" in step_7
    assert "Authorization: Bearer " in step_7
    assert "HTTP 200 OK" in step_7
    assert f"&quot;email&quot;: &quot;{demo.email}&quot;" in step_7
    assert "sub is the ID token's sub" in step_7


def test_oidc_client_signs_out_at_both_ends(oidc_walk: dict[str, Any]) -> None:
    demo = oidc_walk["demo"]
    assert oidc_walk["forged_signed_out_status"] == 400
    logout = urllib.parse.urlsplit(oidc_walk["logout"])
    params = dict(urllib.parse.parse_qsl(logout.query))
    assert f"{logout.scheme}://{logout.netloc}{logout.path}" == f"{demo.base_url}/o/logout/"
    assert params["post_logout_redirect_uri"] == f"{demo.base_url}/client/oidc/signed-out/"
    assert WHOLE_JWT.fullmatch(params["id_token_hint"])
    back = urllib.parse.urlsplit(oidc_walk["logout_chain"][0])
    assert back.path == "/client/oidc/signed-out/"
    assert dict(urllib.parse.parse_qsl(back.query)) == {"state": params["state"]}
    page = oidc_walk["signed_out"]
    assert "Signed out. The server ended your session" in page
    assert "id_token_hint=eyJ" in page  # masked: the first characters and the length
    assert not WHOLE_JWT.search(page)
    assert oidc_walk["admin_after_logout"] == 302  # the server's session ended too
