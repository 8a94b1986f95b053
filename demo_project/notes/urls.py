from __future__ import annotations

from rest_framework.routers import SimpleRouter

from demo_project.notes.views import NoteViewSet

router = SimpleRouter()
router.register("notes", NoteViewSet, basename="note")

urlpatterns = router.urls
