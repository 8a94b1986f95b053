"""First-party sign-in (``POST /auth/token/``): a password for a new token family.

The built-in first-party application
(:func:`~bearer_auth.services.issuing.first_party_application`) owns these
tokens; they are minted and stored like every OAuth client's
(:func:`~bearer_auth.services.issuing.issue_new_family`), and each sign-in
is a :class:`~bearer_auth.models.TokenSession`.
"""

from __future__ import annotations

from typing import Final

from django.contrib.auth import user_logged_in
from django.db import router, transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from oauth2_provider.models import get_access_token_model
from rest_framework.request import Request

from bearer_auth import dpop, policy
from bearer_auth.exceptions import InvalidDPoPProof, InvalidGrant, InvalidScope
from bearer_auth.services.issuing import (
    TokenPair,
    client_headers,
    first_party_application,
    issue_new_family,
    token_request,
    token_store,
    validate_scopes,
)
from bearer_auth.settings import bearer_settings
from bearer_auth.throttling import authenticate_within_budget

# Every failed sign-in answers with this one description, whatever the reason.
_BAD_CREDENTIALS: Final = _("The email or password is incorrect.")


def sign_in(
    request: HttpRequest | Request,
    *,
    identifier: str,
    password: str,
    scope: str | None,
) -> TokenPair:
    """Check the credentials with ``authenticate()`` and start a new session.

    ``request`` is the sign-in request (Django's or DRF's): ``authenticate()``
    and ``user_logged_in`` receive it, and the session records its client IP
    and user agent.

    Unknown user, wrong password, inactive user and unusable password all
    raise the same :class:`InvalidGrant`; Django's ``ModelBackend`` runs the
    hasher in each case, so they take about as long. A scope outside the
    first-party application's allowed scopes raises :class:`InvalidScope`
    before any password hashing, and before the sign-in budgets are touched;
    the password check itself runs within them
    (:func:`~bearer_auth.throttling.authenticate_within_budget`): only
    failures spend them. The tokens, the session and Django's
    ``user_logged_in`` (which updates ``last_login``) are written in one
    transaction: all or nothing. Inside :func:`bearer_auth.dpop.token_request_bound_to`
    the tokens are bound to that proof's key.
    """
    with token_store():
        application = first_party_application()
        # The first-party application's policy may require DPoP (RFC 9449 §5.2).
        refusal = dpop.client_refusal(application, dpop.running_proof())
        if refusal is not None:
            raise InvalidDPoPProof(refusal)
        if scope:
            scopes = scope.split()
        else:  # BEARER_AUTH["DEFAULT_SCOPES"] the application is allowed, in their order
            defaults = policy.default_scopes(application)
            scopes = [name for name in bearer_settings.DEFAULT_SCOPES if name in defaults]
        minting = token_request(application, scopes=scopes, headers=client_headers(request.META))
        if not validate_scopes(minting, scopes):
            raise InvalidScope
        # Claims an attempt from the IP's and the account's budgets before any
        # hashing (429 when spent); a right password gives it back.
        user = authenticate_within_budget(request, username=identifier, password=password)
        if user is None or not getattr(user, "is_active", True):
            raise InvalidGrant(_BAD_CREDENTIALS)
        minting.user = user
        with transaction.atomic(using=router.db_for_write(get_access_token_model())):
            token = issue_new_family(minting)
            user_logged_in.send(sender=type(user), request=request, user=user)
    session = getattr(minting, "bearer_session", None)
    return TokenPair.from_token(token, session_expires=session and session.expires)
