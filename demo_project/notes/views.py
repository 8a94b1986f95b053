"""``/api/notes/``: bearer-protected, owner-only, ``notes:read`` / ``notes:write``.

Works in both verification modes: the owner is ``database_user()``, the user's
row (``request.user`` in strict mode, looked up by the token's ``sub`` in
stateless mode).
"""

from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.serializers import BaseSerializer

from bearer_auth.authentication import database_user
from bearer_auth.permissions import HasReadWriteScope
from demo_project.notes.models import Note
from demo_project.notes.serializers import NoteSerializer


class NoteViewSet(viewsets.ModelViewSet[Note]):
    """List, create, read, change and delete the signed-in user's notes."""

    serializer_class = NoteSerializer
    permission_classes = [IsAuthenticated, HasReadWriteScope]
    read_scope = "notes:read"
    write_scope = "notes:write"

    def get_queryset(self) -> QuerySet[Note]:
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular's schema
            return Note._default_manager.none()  # type: ignore[no-any-return]
        # Another user's note is a 404, not a 403: its existence is not disclosed.
        notes: QuerySet[Note] = Note._default_manager.filter(owner=database_user(self.request))
        return notes

    def perform_create(self, serializer: BaseSerializer[Note]) -> None:
        serializer.save(owner=database_user(self.request))
