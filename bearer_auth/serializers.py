"""Input validation for the token endpoints: shapes and bounds only, no side effects.

DRF's ``CharField`` refuses NUL characters and non-string values; every bound
here is checked before anything is hashed or looked up.
"""

from __future__ import annotations

from typing import Any, Final

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

#: Longest password accepted; checked before any hashing.
MAX_PASSWORD_LENGTH: Final = 4096
MAX_IDENTIFIER_LENGTH: Final = 320
MAX_SCOPE_LENGTH: Final = 1024
#: Access tokens over 8 KB are refused unread (``bearer_auth.jwt.MAX_TOKEN_LENGTH``), so
#: anything longer is no token of ours.
#: Refresh tokens are far shorter, but an access token sent by mistake to the
#: refresh endpoint must still get ``invalid_grant``, not ``invalid_request``.
MAX_TOKEN_LENGTH: Final = 8 * 1024


class StringField(serializers.CharField):
    """A ``CharField`` that takes JSON strings only, not numbers (``1e999`` is not ``"inf"``)."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class SignInSerializer(serializers.Serializer[Any]):
    """``email`` (or its alias ``username``), ``password`` and an optional ``scope``."""

    email = StringField(max_length=MAX_IDENTIFIER_LENGTH, required=False)
    username = StringField(max_length=MAX_IDENTIFIER_LENGTH, required=False)
    password = StringField(max_length=MAX_PASSWORD_LENGTH, trim_whitespace=False)
    scope = StringField(max_length=MAX_SCOPE_LENGTH, required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        identifier = attrs.get("email") or attrs.get("username")
        if not identifier:
            raise serializers.ValidationError({"email": [_("This field is required.")]})
        attrs["identifier"] = identifier
        return attrs


class RefreshSerializer(serializers.Serializer[Any]):
    """``refresh_token`` and an optional narrower ``scope``."""

    refresh_token = StringField(max_length=MAX_TOKEN_LENGTH)
    scope = StringField(max_length=MAX_SCOPE_LENGTH, required=False, allow_blank=True)


class RevokeSerializer(serializers.Serializer[Any]):
    """RFC 7009 §2.1: ``token`` and an optional ``token_type_hint`` (which may be ignored)."""

    token = StringField(max_length=MAX_TOKEN_LENGTH)
    token_type_hint = StringField(max_length=64, required=False, allow_blank=True)


class CookieRefreshSerializer(serializers.Serializer[Any]):
    """Cookie mode's refresh: an optional narrower ``scope``; the token is the cookie's only."""

    scope = StringField(max_length=MAX_SCOPE_LENGTH, required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        refuse_token_in_body(self.initial_data, "refresh_token")
        return attrs


class CookieRevokeSerializer(serializers.Serializer[Any]):
    """Cookie mode's sign-out: the refresh cookie's session; no ``token`` in the body."""

    token_type_hint = StringField(max_length=64, required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        refuse_token_in_body(self.initial_data, "token")
        return attrs


def refuse_token_in_body(data: Any, field: str) -> None:
    """Refuse a token in the body of a cookie-mode request: the cookie is its one source."""
    if field in data:
        raise serializers.ValidationError(
            {field: [_("In cookie mode the refresh token is read from its cookie only.")]}
        )
