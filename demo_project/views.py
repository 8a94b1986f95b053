"""The demo's landing page."""

from __future__ import annotations

from typing import Any

from django.views.generic import TemplateView

from bearer_auth.settings import bearer_settings


class LandingView(TemplateView):
    template_name = "demo_project/landing.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        # The demo's one browser app: the single-page app `make demo` serves on
        # its own port (demo_project.serve), listed in BROWSER_APP_ORIGINS.
        [spa_origin] = bearer_settings.BROWSER_APP_ORIGINS
        return {**super().get_context_data(**kwargs), "spa_url": f"{spa_origin}/"}
