"""Cookie mode for browser apps: the refresh token in an ``HttpOnly`` cookie, out of scripts' reach.

A browser app asks for it per request with the ``Refresh-Token-Delivery:
cookie`` header at the first-party sign-in, refresh and revocation
endpoints (or the project turns it on for every request,
``REFRESH_TOKEN_DELIVERY = "cookie"``). The access token is then answered
in the body, for the app to keep in memory, and the refresh token is set as
a ``__Host-`` cookie: ``HttpOnly``, ``Secure``, ``SameSite=Strict``,
``Path=/``, living as long as the session it belongs to. A refresh or a
sign-out in cookie mode reads the refresh token from that cookie only; a
request without the header never reads it.

Every cookie-mode request must prove it comes from the app (CSRF): it
carries the custom header, which an HTML form cannot send and a
cross-origin script can only send after a CORS preflight the API allows,
and its ``Origin`` is the API's own origin or one of
``BROWSER_APP_ORIGINS``. ``docs/browser-apps.md`` says why this and not
Django's CSRF token, and what each mode defends against.

This module knows only Django's request and response: the views decide when
to call it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bearer_auth.exceptions import InvalidRequest
from bearer_auth.settings import bearer_settings

#: The request header a browser app sends to use cookie mode, with :data:`COOKIE`.
DELIVERY_HEADER: Final = "Refresh-Token-Delivery"
COOKIE: Final = "cookie"
#: ``REFRESH_TOKEN_DELIVERY`` values: each request chooses, cookie only, body only.
DELIVERIES: Final = ("request", "cookie", "body")
#: Hosts on which ``DEBUG`` relaxes ``Secure`` for a plain-http request.
LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


def cookie_mode(request: HttpRequest) -> bool:
    """Whether ``request`` uses cookie mode; :class:`InvalidRequest` when it may not.

    Cookie mode needs the header (whatever ``REFRESH_TOKEN_DELIVERY`` says:
    it is the CSRF proof) and an allowed ``Origin``. Without the header the
    request is in body mode, unless the project delivers by cookie only.
    """
    delivery = bearer_settings.REFRESH_TOKEN_DELIVERY
    asked = request.headers.get(DELIVERY_HEADER)
    if asked is None:
        if delivery == COOKIE:
            raise InvalidRequest(
                _("This server keeps refresh tokens in a cookie: send %(header)s: cookie.")
                % {"header": DELIVERY_HEADER}
            )
        return False
    if asked.strip().lower() != COOKIE:
        raise InvalidRequest(_("%(header)s must be cookie.") % {"header": DELIVERY_HEADER})
    if delivery == "body":
        raise InvalidRequest(_("This server does not keep refresh tokens in cookies."))
    if not origin_allowed(request):
        raise InvalidRequest(_("This origin may not use the refresh cookie."))
    return True


def origin_allowed(request: HttpRequest) -> bool:
    """Whether the request's ``Origin`` is the API's own or one of ``BROWSER_APP_ORIGINS``.

    A request without ``Origin`` (or with ``null``) is refused: every browser
    sends it on a ``POST`` made by ``fetch()``, same-origin or not.
    """
    origin = normalized_origin(request.headers.get("Origin", ""))
    if origin is None:
        return False
    own = normalized_origin(f"{request.scheme}://{request.get_host()}")
    return origin == own or origin in allowed_origins()


def allowed_origins() -> frozenset[str]:
    """``BROWSER_APP_ORIGINS``, normalized; entries that are no origin are left out.

    ``bearer_auth.E022`` reports those.
    """
    found = (normalized_origin(value) for value in bearer_settings.BROWSER_APP_ORIGINS)
    return frozenset(origin for origin in found if origin is not None)


def normalized_origin(value: object) -> str | None:
    """``scheme://host[:port]``, lower case, no default port; ``None`` if ``value`` is no origin.

    An origin has no path (``/`` alone is tolerated), query, fragment or user
    information (RFC 6454 §6.2), and its scheme is ``http`` or ``https``.
    """
    if not isinstance(value, str):
        return None
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if (
        scheme not in _DEFAULT_PORTS
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or "#" in value
        or "?" in value
        or parts.username is not None
        or parts.password is not None
    ):
        return None
    host = parts.hostname.lower()
    if ":" in host:  # an IPv6 address, bracketed in an origin
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    return f"{scheme}://{host}"


def cookie_name(request: HttpRequest) -> str:
    """The refresh cookie's name: ``REFRESH_COOKIE_NAME`` with its prefix.

    ``__Host-`` (Secure, this host only, ``Path=/``) when ``REFRESH_COOKIE_PATH``
    is ``/``, ``__Secure-`` for another path; no prefix while ``DEBUG``
    relaxes ``Secure`` (:func:`relaxed`), since browsers refuse a prefixed
    cookie without it.
    """
    name = str(bearer_settings.REFRESH_COOKIE_NAME)
    if relaxed(request):
        return name
    return ("__Host-" if bearer_settings.REFRESH_COOKIE_PATH == "/" else "__Secure-") + name


def relaxed(request: HttpRequest) -> bool:
    """Whether the cookie goes without ``Secure``: ``DEBUG``, plain http, a loopback host.

    For ``make demo`` and local development at ``http://127.0.0.1``; never
    anywhere else, ``DEBUG`` or not.
    """
    if not settings.DEBUG or request.is_secure():
        return False
    return urlsplit(f"//{request.get_host()}").hostname in LOOPBACK_HOSTS


def refresh_cookie(request: HttpRequest) -> str | None:
    """The refresh token the request's cookie carries, if any."""
    return request.COOKIES.get(cookie_name(request)) or None


def set_refresh_cookie(
    response: HttpResponseBase, request: HttpRequest, token: str, *, expires: datetime | None
) -> None:
    """Set the refresh cookie on ``response``, to live until ``expires`` (the session's end).

    Without ``expires`` (a family that has no session) it is a browser-session cookie.
    """
    max_age = None
    if expires is not None:
        max_age = max(0, int((expires - timezone.now()).total_seconds()))
    response.set_cookie(
        cookie_name(request),
        token,
        max_age=max_age,
        path=bearer_settings.REFRESH_COOKIE_PATH,
        secure=not relaxed(request),
        httponly=True,
        samesite="Strict",
    )


def clear_refresh_cookie(response: HttpResponseBase, request: HttpRequest) -> None:
    """Tell the browser to drop the refresh cookie (``Max-Age=0``)."""
    response.delete_cookie(
        cookie_name(request), path=bearer_settings.REFRESH_COOKIE_PATH, samesite="Strict"
    )
