"""The suite again with Django's own ``auth.User``: bearer_auth must not need its model."""

from __future__ import annotations

from tests.settings import *  # noqa: F403

AUTH_USER_MODEL = "auth.User"
