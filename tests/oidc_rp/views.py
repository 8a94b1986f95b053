"""The relying party's home page and the provider logout URL mozilla-django-oidc asks for."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.html import format_html
from mozilla_django_oidc.utils import import_from_settings

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Relying party</title></head>
<body><main>{}</main></body></html>"""


def home(request: HttpRequest) -> HttpResponse:
    """Who is signed in here, with a sign-out button; or a sign-in link."""
    if request.user.is_authenticated:
        body = format_html(
            '<p id="status">Signed in as <span id="email">{}</span></p>'
            '<form method="post" action="{}">'
            '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
            '<button type="submit">Sign out</button></form>',
            request.user.email,
            reverse("oidc_logout"),
            get_token(request),
        )
    else:
        body = format_html(
            '<p id="status">Signed out</p><p><a href="{}">Sign in with bearer_auth</a></p>',
            reverse("oidc_authentication_init"),
        )
    # What the provider sent back after logout (RP-initiated logout's state).
    if "state" in request.GET:
        body += format_html('<p id="returned-state">{}</p>', request.GET["state"])
    if "failed" in request.GET:
        body += format_html('<p id="failed">{}</p>', "Sign-in failed")
    return HttpResponse(format_html(PAGE, body))


def provider_logout_url(request: HttpRequest) -> str:
    """``OIDC_OP_LOGOUT_URL_METHOD``: the provider's end-session URL for this session.

    mozilla-django-oidc calls it before ending the local session, so the ID
    token it stored at sign-in (``OIDC_STORE_ID_TOKEN``) is still there to
    name the provider's session (OpenID Connect RP-Initiated Logout 1.0 §2).
    """
    query = {
        "id_token_hint": request.session["oidc_id_token"],
        "post_logout_redirect_uri": request.build_absolute_uri(reverse("home")),
        "state": secrets.token_urlsafe(16),
    }
    return f"{import_from_settings('OIDC_OP_LOGOUT_ENDPOINT')}?{urlencode(query)}"
