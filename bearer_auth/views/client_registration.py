"""``/o/register/`` (RFC 7591) and ``/o/register/<client_id>/`` (RFC 7592 read, update, delete).

The endpoints exist only while ``BEARER_AUTH["CLIENT_REGISTRATION"]`` is not
``"closed"`` (404 otherwise). What is checked and stored is
:mod:`bearer_auth.oauth.client_registration`; every error is an RFC-shaped
JSON body (:func:`bearer_auth.views.oauth.error_response`), every answer
``Cache-Control: no-store`` (it carries credentials, RFC 7591 §3.2.1).
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.settings import oauth2_settings

from bearer_auth.exceptions import BearerAuthError, ServiceUnavailable
from bearer_auth.models import ClientRegistration
from bearer_auth.oauth.client_registration import (
    CLOSED,
    OPEN,
    bearer_credential,
    claim_registration_attempt,
    client_information,
    delete_registration,
    find_registration,
    parse_body,
    register_client,
    registration_policy,
    update_registration,
)
from bearer_auth.throttling import client_ip
from bearer_auth.views.oauth import error_response
from bearer_auth.views.well_known import on_origin_of

logger = logging.getLogger(__name__)


def _presented_token(request: HttpRequest) -> str | None:
    return bearer_credential(request.headers.get("Authorization", ""))


def _information(
    request: HttpRequest, client_id: str, registration: ClientRegistration, token: str | None
) -> JsonResponse:
    """RFC 7592 §3's answer to a read or an update, with the token the client presented."""
    assert token is not None  # noqa: S101  find_registration and update_registration refuse None
    return JsonResponse(
        client_information(
            registration,
            registration_access_token=token,
            registration_client_uri=_management_uri(request, client_id),
        )
    )


def _management_uri(request: HttpRequest, client_id: str) -> str:
    """RFC 7592's ``registration_client_uri``: on the issuer's origin, like every endpoint URL."""
    return on_origin_of(
        str(oauth2_settings.OIDC_ISS_ENDPOINT),
        reverse("oauth2_provider:dcr-register-management", args=[client_id]),
    )


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(login_not_required, name="dispatch")
@method_decorator(never_cache, name="dispatch")
class RegistrationEndpointView(View):
    """What both endpoints share: 404 while closed, JSON errors, 503 on a database outage."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if registration_policy() == CLOSED:
            raise Http404
        try:
            response = super().dispatch(request, *args, **kwargs)
        except BearerAuthError as error:
            return error_response(error)
        except DatabaseError:
            logger.warning("bearer_auth: database unavailable at %s", request.path, exc_info=True)
            return error_response(ServiceUnavailable())
        return response


class ClientRegistrationView(RegistrationEndpointView):
    """``POST /o/register/``: RFC 7591 client registration (201 with the client information).

    Every attempt first spends one of the client IP's
    ``REGISTRATION_THROTTLE_RATE`` (429 ``slow_down`` with ``Retry-After``).
    """

    http_method_names = ["post", "options"]

    def post(self, request: HttpRequest) -> HttpResponse:
        policy = registration_policy()
        ip_address = client_ip(request)
        claim_registration_attempt(ip_address)
        token = None if policy == OPEN else _presented_token(request)
        data = parse_body(request.body)
        registered = register_client(
            data, policy=policy, ip_address=ip_address, initial_access_token=token
        )
        body = client_information(
            registered.registration,
            registration_access_token=registered.registration_access_token,
            registration_client_uri=_management_uri(
                request, registered.registration.application.client_id
            ),
            client_secret=registered.client_secret,
        )
        return JsonResponse(body, status=201)


class ClientConfigurationView(RegistrationEndpointView):
    """``/o/register/<client_id>/``: RFC 7592 read (GET), update (PUT), delete (DELETE).

    Each needs the client's registration access token (``Authorization:
    Bearer``). An update answers the client information as a read does.
    """

    http_method_names = ["get", "put", "delete", "options"]

    def get(self, request: HttpRequest, client_id: str) -> HttpResponse:
        token = _presented_token(request)
        registration = find_registration(client_id, token)
        return _information(request, client_id, registration, token)

    def put(self, request: HttpRequest, client_id: str) -> HttpResponse:
        token = _presented_token(request)
        registration = update_registration(client_id, token, request.body)
        return _information(request, client_id, registration, token)

    def delete(self, request: HttpRequest, client_id: str) -> HttpResponse:
        delete_registration(find_registration(client_id, _presented_token(request)))
        return HttpResponse(status=204)
