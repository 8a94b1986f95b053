"""The user's OpenID Connect claims, by scope: one source for ID tokens and UserInfo.

OpenID Connect Core §5.4 maps the ``profile`` and ``email`` scopes to standard
claims (§5.1). Only what the user model really has is released, and a claim
without a value is left out rather than sent empty:

- ``profile``: ``name`` (``full_name``, or ``first_name`` and ``last_name``),
  ``given_name`` (``first_name``), ``family_name`` (``last_name``),
  ``nickname`` (``short_name``), ``preferred_username`` (the ``USERNAME_FIELD``
  when it is not the email);
- ``email``: ``email`` and ``email_verified``, which is the user's
  ``email_verified`` attribute when the model has one (a field or a property)
  and ``false`` otherwise: bearer_auth never claims an address was verified
  when nothing verified it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

#: The scopes OpenID Connect defines here, as ``OAUTH2_PROVIDER["SCOPES"]`` entries.
OIDC_SCOPES: Final = {
    "openid": "Sign you in with your account",
    "profile": "See your name",
    "email": "See your email address",
}
#: OpenID Connect Core §5.4: the claims each scope releases.
SCOPE_CLAIMS: Final[dict[str, tuple[str, ...]]] = {
    "openid": ("sub",),
    "profile": ("name", "given_name", "family_name", "nickname", "preferred_username"),
    "email": ("email", "email_verified"),
}
#: Claims an ID token may carry besides the user's (discovery's ``claims_supported``).
ID_TOKEN_CLAIMS: Final = (
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "sid",
)


def claims_supported() -> list[str]:
    """Every claim this provider may release, for ``claims_supported`` in discovery."""
    user_claims = [claim for claims in SCOPE_CLAIMS.values() for claim in claims]
    return list(dict.fromkeys([*user_claims, *ID_TOKEN_CLAIMS]))


def user_claims(user: Any, scopes: Iterable[str]) -> dict[str, Any]:
    """Return ``sub`` and the claims ``scopes`` release about ``user`` (those with a value)."""
    # Imported here, not at the top: a settings module imports OIDC_SCOPES
    # before the apps are ready, and bearer_auth.jwt imports the models.
    from bearer_auth.jwt import user_subject

    granted = set(scopes)
    claims: dict[str, Any] = {"sub": user_subject(user)}
    if "profile" in granted:
        claims.update(_profile(user))
    if "email" in granted:
        email = _text(user, user.get_email_field_name())
        if email:
            claims["email"] = email
            claims["email_verified"] = bool(getattr(user, "email_verified", False))
    return claims


def _profile(user: Any) -> dict[str, str]:
    given = _text(user, "first_name")
    family = _text(user, "last_name")
    name = _text(user, "full_name") or " ".join(part for part in (given, family) if part)
    profile = {
        "name": name,
        "given_name": given,
        "family_name": family,
        "nickname": _text(user, "short_name"),
    }
    username_field = user.USERNAME_FIELD
    if username_field != user.get_email_field_name():
        profile["preferred_username"] = _text(user, username_field)
    return {claim: value for claim, value in profile.items() if value}


def _text(user: Any, attribute: str) -> str:
    value = getattr(user, attribute, None)
    return value.strip() if isinstance(value, str) else ""
