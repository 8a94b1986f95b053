from __future__ import annotations

from rest_framework import serializers

from demo_project.notes.models import Note


class NoteSerializer(serializers.ModelSerializer[Note]):
    class Meta:
        model = Note
        fields = ("id", "title", "body", "created", "updated")
        read_only_fields = ("id", "created", "updated")
