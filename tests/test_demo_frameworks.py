"""Issue 24: the demo's notes API under DRF, Django Ninja and plain Django async views.

``/api/notes/`` (DRF's viewset), ``/ninja/notes/`` (async Ninja operations)
and ``/plain/notes/`` (plain async views with ``bearer_required``) take the
same tokens and answer the same calls alike, in both verification modes.

The calls run in a child process on the demo's settings and a fresh SQLite
file (this process runs ``tests.settings``, without the demo's apps), through
Django's ``AsyncClient`` (ASGI, as ``make demo`` serves the demo); the child
writes what it saw to a JSON file and the tests here read it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.processes import ROOT, child_env

pytestmark = pytest.mark.slow

FRAMEWORKS = {"drf": "/api/notes/", "ninja": "/ninja/notes/", "plain": "/plain/notes/"}
MODES = ("strict", "stateless")
# DRF's datetimes: ISO 8601 with microseconds, Z for UTC.
DRF_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z")


def walk_frameworks(record: str) -> None:
    """Make the calls of every test below; write what came back to the JSON file ``record``.

    Runs in the child process (:func:`_walk_in_child`), after ``django.setup()``.
    """
    import asyncio

    from django.conf import settings
    from django.core.management import call_command
    from django.test import AsyncClient, override_settings

    from tests.factories import UserFactory
    from tests.issuing import issue_access_token

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    from demo_project.notes.models import Note

    def token(user: Any, scope: str = "notes:read notes:write") -> str:
        return issue_access_token(user, scope=scope)

    def answer(response: Any) -> dict[str, Any]:
        content, media_type = response.content, response.headers.get("Content-Type", "")
        is_json = media_type.startswith("application/json")
        return {
            "status": response.status_code,
            "json": json.loads(content) if content and is_json else None,
            "text": None if is_json else content.decode(),
            "www_authenticate": response.headers.get("WWW-Authenticate"),
            "allow": response.headers.get("Allow"),
        }

    async def call(
        client: AsyncClient, method: str, path: str, bearer: str | None = None, body: Any = None
    ) -> dict[str, Any]:
        headers = {} if bearer is None else {"Authorization": f"Bearer {bearer}"}
        if body is None:
            response = await client.generic(method, path, headers=headers)
        else:
            response = await client.generic(
                method, path, json.dumps(body), "application/json", headers=headers
            )
        return answer(response)

    async def sequence(prefix: str, tokens: dict[str, str], foreign: int) -> dict[str, Any]:
        """The calls of one user through ``prefix``; ``foreign``: another user's note."""
        client = AsyncClient(enforce_csrf_checks=True)
        full, read_only, write_only = tokens["full"], tokens["read"], tokens["write"]
        seen: dict[str, Any] = {}
        seen["create"] = await call(
            client, "POST", prefix, full, {"title": " A note ", "body": "b"}
        )
        note = f"{prefix}{seen['create']['json']['id']}/"
        seen["list"] = await call(client, "GET", prefix, full)
        seen["read"] = await call(client, "GET", note, full)
        seen["put"] = await call(client, "PUT", note, full, {"title": "Changed"})
        seen["patch"] = await call(client, "PATCH", note, full, {"body": "new body"})
        seen["read_changed"] = await call(client, "GET", note, full)
        seen["read_foreign"] = await call(client, "GET", f"{prefix}{foreign}/", full)
        seen["patch_foreign"] = await call(
            client, "PATCH", f"{prefix}{foreign}/", full, {"title": "Mine now"}
        )
        seen["delete_foreign"] = await call(client, "DELETE", f"{prefix}{foreign}/", full)
        seen["create_read_only"] = await call(client, "POST", prefix, read_only, {"title": "x"})
        seen["patch_read_only"] = await call(client, "PATCH", note, read_only, {"title": "x"})
        seen["delete_read_only"] = await call(client, "DELETE", note, read_only)
        seen["list_write_only"] = await call(client, "GET", prefix, write_only)
        seen["read_write_only"] = await call(client, "GET", note, write_only)
        seen["list_no_token"] = await call(client, "GET", prefix)
        seen["create_no_token"] = await call(client, "POST", prefix, None, {"title": "x"})
        seen["read_no_token"] = await call(client, "GET", note)
        seen["list_bad_token"] = await call(client, "GET", prefix, full[:-4] + "AAAA")
        seen["create_blank"] = await call(client, "POST", prefix, full, {"title": "   "})
        seen["create_long"] = await call(client, "POST", prefix, full, {"title": "x" * 201})
        seen["create_no_title"] = await call(client, "POST", prefix, full, {"body": "b"})
        seen["put_no_title"] = await call(client, "PUT", note, full, {"body": "b"})
        seen["patch_null_title"] = await call(client, "PATCH", note, full, {"title": None})
        seen["other_method"] = await call(client, "PUT", prefix, full, {"title": "x"})
        seen["delete"] = await call(client, "DELETE", note, full)
        seen["read_deleted"] = await call(client, "GET", note, full)
        seen["list_after"] = await call(client, "GET", prefix, full)
        # Last, as they may add notes: a body that is not JSON, and a form.
        headers = {"Authorization": f"Bearer {full}"}
        seen["create_bad_json"] = answer(
            await client.post(prefix, "{not json", "application/json", headers=headers)
        )
        seen["create_form"] = answer(await client.post(prefix, {"title": "form"}, headers=headers))
        return seen

    async def across(tokens: dict[str, str]) -> dict[str, Any]:
        """One user's notes made through each API, read through every one."""
        client = AsyncClient(enforce_csrf_checks=True)
        full = tokens["full"]
        made = {}
        for name, prefix in FRAMEWORKS.items():
            created = await call(client, "POST", prefix, full, {"title": f"Made by {name}"})
            made[name] = created["json"]["id"]
        lists = {
            name: await call(client, "GET", prefix, full) for name, prefix in FRAMEWORKS.items()
        }
        reads: dict[str, dict[str, Any]] = {}
        for reader, prefix in FRAMEWORKS.items():  # loops: Python 3.10 has no nested await
            reads[reader] = {}
            for maker, pk in made.items():
                reads[reader][maker] = await call(client, "GET", f"{prefix}{pk}/", full)
        return {"made": made, "lists": lists, "reads": reads}

    async def openapi() -> dict[str, Any]:
        client = AsyncClient(enforce_csrf_checks=True)
        schema = await client.get("/ninja/openapi.json")
        docs = await client.get("/ninja/docs")
        landing = await client.get("/")
        return {
            "schema": answer(schema),
            "docs": docs.content.decode(),
            "docs_status": docs.status_code,
            "landing": landing.content.decode(),
        }

    seen: dict[str, Any] = {}
    for mode in MODES:
        with override_settings(BEARER_AUTH={**settings.BEARER_AUTH, "VERIFY_MODE": mode}):
            bob = UserFactory()
            foreign = Note._default_manager.create(owner=bob, title="Bob's", body="secret").pk
            runs: dict[str, Any] = {}
            for name, prefix in FRAMEWORKS.items():
                user = UserFactory()
                tokens = {
                    "full": token(user),
                    "read": token(user, "notes:read"),
                    "write": token(user, "notes:write"),
                }
                runs[name] = asyncio.run(sequence(prefix, tokens, foreign))
            carol = UserFactory()
            seen[mode] = {
                "runs": runs,
                "across": asyncio.run(across({"full": token(carol)})),
                "bob_note": list(
                    Note._default_manager.filter(pk=foreign).values_list("title", "body")
                ),
            }
    seen["openapi"] = asyncio.run(openapi())
    with open(record, "w", encoding="utf-8") as sink:
        json.dump(seen, sink)


def _walk_in_child(tmp_path: Path) -> dict[str, Any]:
    record = tmp_path / "frameworks.json"
    # Django's test client names its host "testserver".
    environment = child_env(
        tmp_path, {"DJANGO_SETTINGS_MODULE": "demo_project.settings", "ALLOWED_HOSTS": "testserver"}
    )
    code = (
        "import django; django.setup(); from tests.test_demo_frameworks import walk_frameworks; "
        f"walk_frameworks({str(record)!r})"
    )
    result = subprocess.run(
        [sys.executable, "-W", "error::RuntimeWarning", "-c", code],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    seen: dict[str, Any] = json.loads(record.read_text())
    return seen


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _walk_in_child(tmp_path_factory.mktemp("demo-frameworks"))


def _without_identity(value: Any) -> Any:
    """``value`` with each note's id and datetimes replaced by placeholders, once checked."""
    if isinstance(value, list):
        return [_without_identity(item) for item in value]
    if isinstance(value, dict) and {"id", "created", "updated"} <= value.keys():
        assert isinstance(value["id"], int)
        assert DRF_DATETIME.fullmatch(value["created"]), value
        assert DRF_DATETIME.fullmatch(value["updated"]), value
        return {**value, "id": "<id>", "created": "<created>", "updated": "<updated>"}
    if isinstance(value, dict):
        return {key: _without_identity(item) for key, item in value.items()}
    return value


# The calls every API answers alike (status, JSON, WWW-Authenticate).
SAME = (
    "create",
    "list",
    "read",
    "put",
    "patch",
    "read_changed",
    "read_foreign",
    "patch_foreign",
    "delete_foreign",
    "create_read_only",
    "patch_read_only",
    "delete_read_only",
    "list_write_only",
    "read_write_only",
    "list_no_token",
    "create_no_token",
    "read_no_token",
    "list_bad_token",
    "delete",
    "read_deleted",
    "list_after",
)


def _answers(walk: dict[str, Any], mode: str, framework: str, *calls: str) -> list[Any]:
    run = walk[mode]["runs"][framework]
    return [
        {
            "call": call,
            "status": run[call]["status"],
            "json": _without_identity(run[call]["json"]),
            "www_authenticate": run[call]["www_authenticate"],
        }
        for call in calls
    ]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("framework", ["ninja", "plain"])
def test_each_api_answers_the_calls_as_the_drf_viewset(
    walk: dict[str, Any], mode: str, framework: str
) -> None:
    assert _answers(walk, mode, framework, *SAME) == _answers(walk, mode, "drf", *SAME)


@pytest.mark.parametrize("mode", MODES)
def test_the_viewset_s_answers(walk: dict[str, Any], mode: str) -> None:
    """What all three answer, spelled out (the comparison above is against these)."""
    run = walk[mode]["runs"]["drf"]
    created = run["create"]["json"]
    assert run["create"]["status"] == 201
    assert {key: created[key] for key in ("title", "body")} == {"title": "A note", "body": "b"}
    assert run["list"]["json"] == [created]
    assert run["read"]["json"] == created
    assert run["put"]["json"]["title"] == "Changed"
    assert run["put"]["json"]["body"] == "b"  # PUT keeps a body left out
    assert run["patch"]["json"] == {**run["put"]["json"], "body": "new body", "updated": ANY_TIME}
    assert run["read_changed"]["json"] == run["patch"]["json"]
    for call in ("read_foreign", "patch_foreign", "delete_foreign", "read_deleted"):
        assert run[call]["status"] == 404, call
        assert run[call]["json"] == {"detail": "No Note matches the given query."}, call
    for call in ("create_read_only", "patch_read_only", "delete_read_only"):
        assert run[call]["status"] == 403, call
        assert 'error="insufficient_scope"' in run[call]["www_authenticate"], call
        assert 'scope="notes:write"' in run[call]["www_authenticate"], call
    for call in ("list_write_only", "read_write_only"):
        assert run[call]["status"] == 403, call
        assert 'scope="notes:read"' in run[call]["www_authenticate"], call
    for call in ("list_no_token", "create_no_token", "read_no_token"):
        assert run[call]["status"] == 401, call
        assert run[call]["www_authenticate"].startswith('Bearer realm="api"'), call
        assert "error=" not in run[call]["www_authenticate"], call
    assert run["list_bad_token"]["status"] == 401
    assert 'error="invalid_token"' in run["list_bad_token"]["www_authenticate"]
    assert (run["delete"]["status"], run["delete"]["json"]) == (204, None)
    assert run["list_after"]["json"] == []
    # Another user's note was neither changed nor deleted, through any of the three.
    assert walk[mode]["bob_note"] == [["Bob's", "secret"]]


class _AnyTime:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and bool(DRF_DATETIME.fullmatch(other))


ANY_TIME: Any = _AnyTime()


def _status_and_json(answer: dict[str, Any]) -> tuple[int, Any]:
    return answer["status"], answer["json"]


@pytest.mark.parametrize("mode", MODES)
def test_a_note_made_through_one_api_is_the_same_through_the_others(
    walk: dict[str, Any], mode: str
) -> None:
    across = walk[mode]["across"]
    made = across["made"]
    assert len(set(made.values())) == 3
    drf_list = across["lists"]["drf"]
    assert drf_list["status"] == 200
    assert sorted(note["id"] for note in drf_list["json"]) == sorted(made.values())
    for reader in ("ninja", "plain"):
        # The same JSON to the microsecond, whichever API wrote the note.
        assert _status_and_json(across["lists"][reader]) == _status_and_json(drf_list), reader
        for maker in made:
            read, drf_read = across["reads"][reader][maker], across["reads"]["drf"][maker]
            assert _status_and_json(read) == _status_and_json(drf_read), (reader, maker)
    for maker, pk in made.items():
        read = across["reads"]["drf"][maker]
        assert read["status"] == 200
        assert read["json"]["id"] == pk
        assert read["json"]["title"] == f"Made by {maker}"


@pytest.mark.parametrize("mode", MODES)
def test_plain_views_validate_with_the_viewset_s_serializer(
    walk: dict[str, Any], mode: str
) -> None:
    """Invalid input: the plain views answer DRF's 400 and errors, word for word."""
    drf, plain = walk[mode]["runs"]["drf"], walk[mode]["runs"]["plain"]
    expected = {
        "create_blank": {"title": ["This field may not be blank."]},
        "create_long": {"title": ["Ensure this field has no more than 200 characters."]},
        "create_no_title": {"title": ["This field is required."]},
        "put_no_title": {"title": ["This field is required."]},
        "patch_null_title": {"title": ["This field may not be null."]},
    }
    for call, errors in expected.items():
        assert drf[call]["status"] == plain[call]["status"] == 400, call
        assert drf[call]["json"] == plain[call]["json"] == errors, call


def test_plain_views_read_json_as_drf_does(walk: dict[str, Any]) -> None:
    """Malformed JSON is DRF's 400; a form, which the viewset takes, is DRF's 415 there."""
    drf, plain = walk["strict"]["runs"]["drf"], walk["strict"]["runs"]["plain"]
    assert _status_and_json(plain["create_bad_json"]) == _status_and_json(drf["create_bad_json"])
    assert drf["create_bad_json"]["status"] == 400
    assert drf["create_bad_json"]["json"]["detail"].startswith("JSON parse error - ")
    assert drf["create_form"]["status"] == 201
    assert plain["create_form"]["status"] == 415
    assert plain["create_form"]["json"] == {
        "detail": 'Unsupported media type "multipart/form-data" in request.'
    }


@pytest.mark.parametrize("mode", MODES)
def test_ninja_refuses_the_same_invalid_input_with_its_422(walk: dict[str, Any], mode: str) -> None:
    """Ninja keeps its own convention for invalid input: 422 and its list of errors."""
    ninja = walk[mode]["runs"]["ninja"]
    expected = {
        "create_blank": ("title", "string_too_short"),
        "create_long": ("title", "string_too_long"),
        "create_no_title": ("title", "missing"),
        "put_no_title": ("title", "missing"),
        "patch_null_title": ("title", "string_type"),
    }
    for call, (field, error) in expected.items():
        assert ninja[call]["status"] == 422, call
        [detail] = ninja[call]["json"]["detail"]
        assert (detail["loc"][-1], detail["type"]) == (field, error), call
    # Nothing invalid was stored: the list is empty once the note is deleted.
    assert ninja["list_after"]["json"] == []


@pytest.mark.parametrize("mode", MODES)
def test_a_method_an_endpoint_does_not_have_is_405(walk: dict[str, Any], mode: str) -> None:
    runs = walk[mode]["runs"]
    assert runs["drf"]["other_method"]["status"] == 405
    assert runs["drf"]["other_method"]["json"] == {"detail": 'Method "PUT" not allowed.'}
    # Ninja and Django's View: 405 with no body, before authentication.
    assert runs["ninja"]["other_method"]["status"] == 405
    assert runs["plain"]["other_method"]["status"] == 405
    assert runs["ninja"]["other_method"]["json"] is None
    assert runs["plain"]["other_method"]["json"] is None
    assert set(runs["plain"]["other_method"]["allow"].split(", ")) == {"GET", "POST", "OPTIONS"}


def test_ninja_openapi_names_the_scopes_of_each_operation(walk: dict[str, Any]) -> None:
    schema = walk["openapi"]["schema"]
    assert schema["status"] == 200
    paths = schema["json"]["paths"]
    security = {
        (path, method): operation["security"]
        for path, operations in paths.items()
        for method, operation in operations.items()
    }
    read = [{"BearerAuth": ["notes:read"]}]
    write = [{"BearerAuth": ["notes:write"]}]
    assert security == {
        ("/ninja/notes/", "get"): read,
        ("/ninja/notes/", "post"): write,
        ("/ninja/notes/{note_id}/", "get"): read,
        ("/ninja/notes/{note_id}/", "put"): write,
        ("/ninja/notes/{note_id}/", "patch"): write,
        ("/ninja/notes/{note_id}/", "delete"): write,
    }
    assert schema["json"]["components"]["securitySchemes"]["BearerAuth"]["scheme"] == "bearer"
    note = schema["json"]["components"]["schemas"]["NoteOut"]["properties"]
    assert (note["created"]["type"], note["created"]["format"]) == ("string", "date-time")


def test_ninja_docs_need_no_cdn(walk: dict[str, Any]) -> None:
    """Swagger UI at /ninja/docs loads Ninja's own copy, as /api/docs/ loads the sidecar's."""
    assert walk["openapi"]["docs_status"] == 200
    assert "/static/ninja/swagger-ui-bundle.js" in walk["openapi"]["docs"]
    assert "https://" not in walk["openapi"]["docs"]


def test_the_landing_page_lists_the_three_apis(walk: dict[str, Any]) -> None:
    landing = walk["openapi"]["landing"]
    for path in ("/api/notes/", "/ninja/notes/", "/plain/notes/", "/ninja/docs"):
        assert f"<code>{path}</code>" in landing, path
