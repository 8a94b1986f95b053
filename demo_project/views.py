"""The demo's landing page."""

from __future__ import annotations

from django.views.generic import TemplateView


class LandingView(TemplateView):
    template_name = "demo_project/landing.html"
