from __future__ import annotations

from django.apps import AppConfig


class DemoClientConfig(AppConfig):
    name = "demo_project.client"
    label = "demo_client"
    verbose_name = "Demo OAuth client"
    default_auto_field = "django.db.models.BigAutoField"
