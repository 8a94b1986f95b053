"""What ``bearer_auth/compat.py`` uses of its dependencies still exists and behaves the same.

These tests fail when an upgrade of DOT changes a non-public API bearer_auth
depends on: fix ``compat.py`` before users meet the change.
"""

from __future__ import annotations

import inspect
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from oauth2_provider.models import get_id_token_model
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.common import Request

from bearer_auth.compat import save_id_token
from tests.factories import ApplicationFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_dot_validator_still_has_save_id_token_with_its_arguments() -> None:
    method = OAuth2Validator._save_id_token
    parameters = list(inspect.signature(method).parameters)
    assert parameters[:4] == ["self", "jti", "request", "expires"]


def test_save_id_token_stores_the_row_dot_expects() -> None:
    user = UserFactory()
    application = ApplicationFactory()
    request = Request("https://rp.example/cb")
    request.user = user
    request.client = application
    request.scopes = ["openid", "email"]
    request.scope = None
    jti = str(uuid.uuid4())
    expires = timezone.now() + timedelta(minutes=5)

    row = save_id_token(OAuth2Validator(), jti=jti, request=request, expires=expires)

    stored = get_id_token_model().objects.get(pk=row.pk)
    assert str(stored.jti) == jti
    assert stored.user == user
    assert stored.application == application
    assert stored.scope == "openid email"
    assert stored.expires == expires
