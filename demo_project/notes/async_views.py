"""``/plain/notes/``: the notes API of ``/api/notes/`` as plain Django async views.

No DRF view and no Ninja: Django class-based views with async handlers, each
protected by :func:`bearer_auth.plain.bearer_required` with its scope
(``notes:read`` to list and read, ``notes:write`` to create, change and
delete), reading and writing with Django's async ORM. The owner is
:func:`bearer_auth.core.adatabase_user`, so both verification modes work,
and another user's note is a 404.

JSON in and out, as the viewset answers it: the input is read with DRF's
``JSONParser`` and validated with the viewset's own
:class:`~demo_project.notes.serializers.NoteSerializer` (400 with its errors
per field), the output is that serializer's. A body that is not JSON is
DRF's 415 (the viewset also takes forms; these views take JSON only), a
method the view does not have Django's 405 (with ``Allow``). The DRF
errors a view raises (400, 404, 415) are rendered by ``bearer_required``
as DRF renders them.
The views are exempt from CSRF checks: they take only bearer tokens, which
no other site can make a browser send.
"""

from __future__ import annotations

import io
from typing import Any, Final

from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import aget_object_or_404
from django.urls import URLPattern, path
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from rest_framework.exceptions import NotFound, UnsupportedMediaType, ValidationError
from rest_framework.parsers import JSONParser

from bearer_auth.core import adatabase_user
from bearer_auth.plain import bearer_required
from demo_project.notes.models import Note
from demo_project.notes.serializers import NoteSerializer

read: Final = bearer_required(scopes=["notes:read"])
write: Final = bearer_required(scopes=["notes:write"])


def notes_of(owner: Any) -> QuerySet[Note]:
    """Only the owner's notes: another user's note is a 404, not a 403 (it is not disclosed)."""
    notes: QuerySet[Note] = Note._default_manager.filter(owner=owner)
    return notes


async def owned_note(request: HttpRequest, pk: int) -> Note:
    """The user's note ``pk``; DRF's 404 (``NotFound``) if the user has no such note."""
    try:
        return await aget_object_or_404(notes_of(await adatabase_user(request)), pk=pk)
    except Http404 as exc:
        # As DRF's exception handler turns Django's 404 into its own, message and all.
        raise NotFound(*exc.args) from None


def validated(request: HttpRequest, note: Note | None = None, *, partial: bool = False) -> Any:
    """The request's JSON body, validated by the viewset's serializer; raises DRF's 415 or 400."""
    parser = JSONParser()
    if request.content_type != parser.media_type:
        raise UnsupportedMediaType(request.content_type or "")
    # DRF reads an empty body as no fields at all.
    data = parser.parse(io.BytesIO(request.body)) if request.body else {}
    serializer = NoteSerializer(note, data=data, partial=partial)
    if not serializer.is_valid():  # no query: the serializer has no unique field
        raise ValidationError(serializer.errors)
    return serializer.validated_data


def answer(note: Note, status: int = 200) -> JsonResponse:
    return JsonResponse(NoteSerializer(note).data, status=status)


@method_decorator(csrf_exempt, name="dispatch")
class NoteListView(View):
    """``GET``: the user's notes, the most recently changed first; ``POST``: a new note (201)."""

    http_method_names = ["get", "post", "options"]

    @method_decorator(read)
    async def get(self, request: HttpRequest) -> HttpResponse:
        notes = [note async for note in notes_of(await adatabase_user(request))]
        return JsonResponse(NoteSerializer(notes, many=True).data, safe=False)

    @method_decorator(write)
    async def post(self, request: HttpRequest) -> HttpResponse:
        fields = validated(request)
        owner = await adatabase_user(request)
        note: Note = await Note._default_manager.acreate(owner=owner, **fields)
        return answer(note, status=201)


@method_decorator(csrf_exempt, name="dispatch")
class NoteDetailView(View):
    """``GET`` one note; ``PUT`` (``title`` required) or ``PATCH`` it; ``DELETE`` it (204)."""

    http_method_names = ["get", "put", "patch", "delete", "options"]

    @method_decorator(read)
    async def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return answer(await owned_note(request, pk))

    @method_decorator(write)
    async def put(self, request: HttpRequest, pk: int) -> HttpResponse:
        return await self.change(request, pk, partial=False)

    @method_decorator(write)
    async def patch(self, request: HttpRequest, pk: int) -> HttpResponse:
        return await self.change(request, pk, partial=True)

    @method_decorator(write)
    async def delete(self, request: HttpRequest, pk: int) -> HttpResponse:
        note = await owned_note(request, pk)
        await note.adelete()
        return HttpResponse(status=204)

    async def change(self, request: HttpRequest, pk: int, *, partial: bool) -> HttpResponse:
        # As the viewset: the note first (404), then its new content (400).
        note = await owned_note(request, pk)
        for name, value in validated(request, note, partial=partial).items():
            setattr(note, name, value)
        await note.asave()
        return answer(note)


urlpatterns: list[URLPattern] = [
    path("notes/", NoteListView.as_view(), name="note-list"),
    path("notes/<int:pk>/", NoteDetailView.as_view(), name="note-detail"),
]
