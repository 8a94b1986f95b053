"""App configuration: connect checks and receivers when Django is ready."""

from __future__ import annotations

from importlib.util import find_spec

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BearerAuthConfig(AppConfig):
    name = "bearer_auth"
    verbose_name = _("Bearer authentication")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Importing registers the checks and connects the setting_changed receiver.
        from bearer_auth import checks, settings  # noqa: F401
        from bearer_auth.receivers import connect_receivers

        connect_receivers()
        if find_spec("drf_spectacular"):  # optional: importing registers the extensions
            from bearer_auth import schema  # noqa: F401
