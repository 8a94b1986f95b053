"""``/ninja/notes/``: the notes API of ``/api/notes/`` as async Django Ninja operations.

The same tokens, scopes and answers as the DRF viewset
(:class:`demo_project.notes.views.NoteViewSet`): ``notes:read`` to list and
read, ``notes:write`` to create, change and delete; a user sees only their
own notes, and another user's note is a 404. Each operation checks its token
with :class:`bearer_auth.ninja.AsyncBearerAuth` without blocking the event
loop and reads the notes with Django's async ORM; the owner is
:func:`bearer_auth.core.adatabase_user`, so both verification modes work.

The JSON is the viewset's: the same fields, the datetimes written as DRF
writes them, the same status codes (201, 204, 404) and refusals (401, 403).
Invalid input is Ninja's answer, not DRF's: 422 with Ninja's list of errors
(``{"detail": [{"type": ..., "loc": [...], "msg": ...}]}``) where DRF
answers 400 with its errors per field. The OpenAPI document at
``/ninja/openapi.json`` (Swagger UI at ``/ninja/docs``) names each
operation's scopes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final, cast

from django.db import models
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import aget_object_or_404
from ninja import Field, Schema
from pydantic import ConfigDict, PlainSerializer, StringConstraints, WithJsonSchema
from rest_framework.fields import DateTimeField

from bearer_auth.core import adatabase_user
from bearer_auth.ninja import AsyncBearerAuth, NinjaAPI
from demo_project.notes.models import Note

api = NinjaAPI(
    title="bearer_auth demo notes API (Django Ninja)",
    version="1",
    description="The notes API of /api/notes/ as async Django Ninja operations, "
    "protected by the same RFC 9068 bearer tokens.",
    urls_namespace="notes-ninja",
    docs_url="/docs",
)

READ: Final = AsyncBearerAuth(["notes:read"])
WRITE: Final = AsyncBearerAuth(["notes:write"])
TAGS: Final = ["notes"]

# What the DRF serializer takes of the model's fields: a title of 1 to 200
# characters once trimmed, a body that may be blank (and may be left out).
_TITLE_FIELD = cast("models.CharField[str, str]", Note._meta.get_field("title"))
_TITLE_LENGTH: Final = _TITLE_FIELD.max_length
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=_TITLE_LENGTH)
]


def drf_datetime(value: datetime) -> str:
    """``value`` as the DRF serializer writes it: ISO 8601 with microseconds, ``Z`` for UTC.

    Django's JSON encoder, Ninja's, would cut it to milliseconds.
    """
    written: str = DateTimeField().to_representation(value)
    return written


DateTime = Annotated[
    datetime,
    PlainSerializer(drf_datetime, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class NoteIn(Schema):
    """A new note, or a note's new content (``PUT``)."""

    # DRF's CharField takes a number as its text; it never takes a boolean.
    model_config = ConfigDict(coerce_numbers_to_str=True)

    title: Title
    body: str = ""


class NotePatch(Schema):
    """``PATCH``: the fields to change; a field left out keeps its value (``null`` is refused)."""

    model_config = ConfigDict(coerce_numbers_to_str=True)

    # The default is never validated: it only marks a field left out, and a
    # null sent is refused (not a string), as DRF refuses it.
    title: Title = Field(default=None)  # type: ignore[assignment]
    body: str = Field(default=None)  # type: ignore[assignment]


class NoteOut(Schema):
    id: int
    title: str
    body: str
    created: DateTime
    updated: DateTime


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    """A note not found (or another user's) is DRF's 404: ``{"detail": "No Note matches ..."}``."""
    return api.create_response(request, {"detail": str(exc)}, status=404)


def notes_of(owner: Any) -> QuerySet[Note]:
    """Only the owner's notes: another user's note is a 404, not a 403 (it is not disclosed)."""
    notes: QuerySet[Note] = Note._default_manager.filter(owner=owner)
    return notes


@api.get("/notes/", auth=READ, response=list[NoteOut], tags=TAGS, url_name="note-list")
async def list_notes(request: HttpRequest) -> list[Note]:
    """The signed-in user's notes, the most recently changed first."""
    return [note async for note in notes_of(await adatabase_user(request))]


@api.post("/notes/", auth=WRITE, response={201: NoteOut}, tags=TAGS)
async def create_note(request: HttpRequest, payload: NoteIn) -> Note:
    """Create a note."""
    owner = await adatabase_user(request)
    note: Note = await Note._default_manager.acreate(owner=owner, **payload.model_dump())
    return note


@api.get("/notes/{note_id}/", auth=READ, response=NoteOut, tags=TAGS, url_name="note-detail")
async def read_note(request: HttpRequest, note_id: int) -> Note:
    """One of the user's notes."""
    return await aget_object_or_404(notes_of(await adatabase_user(request)), pk=note_id)


async def _change(request: HttpRequest, note_id: int, changes: dict[str, Any]) -> Note:
    note = await aget_object_or_404(notes_of(await adatabase_user(request)), pk=note_id)
    for name, value in changes.items():
        setattr(note, name, value)
    await note.asave()
    return note


@api.put("/notes/{note_id}/", auth=WRITE, response=NoteOut, tags=TAGS)
async def replace_note(request: HttpRequest, note_id: int, payload: NoteIn) -> Note:
    """Change a note: ``title`` is required, ``body`` left out keeps its value (as DRF's PUT)."""
    return await _change(request, note_id, payload.model_dump(exclude_unset=True))


@api.patch("/notes/{note_id}/", auth=WRITE, response=NoteOut, tags=TAGS)
async def update_note(request: HttpRequest, note_id: int, payload: NotePatch) -> Note:
    """Change some of a note's fields."""
    return await _change(request, note_id, payload.model_dump(exclude_unset=True))


@api.delete("/notes/{note_id}/", auth=WRITE, response={204: None}, tags=TAGS)
async def delete_note(request: HttpRequest, note_id: int) -> None:
    """Delete a note."""
    note = await aget_object_or_404(notes_of(await adatabase_user(request)), pk=note_id)
    await note.adelete()
