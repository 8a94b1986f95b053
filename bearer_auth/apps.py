"""App configuration: connect checks and receivers when Django is ready."""

from __future__ import annotations

from importlib.util import find_spec

from django.apps import AppConfig, apps
from django.utils.translation import gettext_lazy as _


def hide_id_tokens_without_oidc() -> None:
    """Unregister DOT's "Id tokens" admin page while OpenID Connect is off.

    Called from ``ready()``, after the admin's autodiscovery (which imports
    DOT's admin module) when ``django.contrib.admin`` is listed above
    bearer_auth in ``INSTALLED_APPS``, as ``startproject`` lists it. Listed
    below, the page stays; ``admin.site.unregister(get_id_token_model())`` in
    a project's ``admin.py`` removes it.
    """
    if not apps.is_installed("django.contrib.admin"):
        return
    from django.contrib import admin
    from oauth2_provider.models import get_id_token_model
    from oauth2_provider.settings import oauth2_settings

    model = get_id_token_model()
    if not oauth2_settings.OIDC_ENABLED and admin.site.is_registered(model):
        admin.site.unregister(model)


class BearerAuthConfig(AppConfig):
    name = "bearer_auth"
    verbose_name = _("Bearer authentication")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Importing registers the checks and connects the setting_changed receiver.
        from bearer_auth import checks, settings  # noqa: F401
        from bearer_auth.receivers import connect_receivers

        connect_receivers()
        hide_id_tokens_without_oidc()
        if find_spec("drf_spectacular"):  # optional: importing registers the extensions
            from bearer_auth import schema  # noqa: F401
