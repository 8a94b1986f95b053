"""``/client/``: one page walking through the seven steps, and the endpoints each step posts to.

The state of a visitor's flow (the ``state`` value, the PKCE verifier, the
code, the access token and what each step sent and received) lives in the
visitor's Django session under :data:`SESSION_KEY`. Raw credentials kept
there are never put in a template context: the page gets masked copies.
"""

from __future__ import annotations

import hmac
import json
from typing import Any, Final

from django.contrib import messages
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache

from demo_project.client.exchanges import mask, mask_url
from demo_project.client.flow import (
    SCOPES,
    ServerEndpoints,
    call_notes_api,
    exchange_code,
    start_authorization,
    verify_access_token,
)
from demo_project.client.models import ClientRegistration

SESSION_KEY: Final = "demo_client_flow"
TEMPLATE: Final = "client/client.html"
#: The longest note title the client sends (the notes API allows 200 characters).
MAX_TITLE_LENGTH: Final = 200
#: How many of step 7's calls the page keeps, newest first.
SHOWN_API_CALLS: Final = 5


def _registration() -> ClientRegistration | None:
    registration: ClientRegistration | None = ClientRegistration._default_manager.first()
    return registration


def _flow(request: HttpRequest) -> dict[str, Any]:
    flow: dict[str, Any] = request.session.get(SESSION_KEY) or {}
    return flow


def _save(request: HttpRequest, flow: dict[str, Any]) -> None:
    request.session[SESSION_KEY] = flow


def _redirect_uri(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("demo_client:callback"))


def _page(fragment: str = "") -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("demo_client:index") + fragment)


@method_decorator(never_cache, name="dispatch")
class ClientPageView(View):
    """``GET /client/``: the seven steps, with what this visitor's flow has done so far."""

    http_method_names = ["get", "head"]

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, TEMPLATE, page_context(request))


def page_context(request: HttpRequest, *, refusal: str | None = None) -> dict[str, Any]:
    """Build the page's context from the session, with every credential masked."""
    flow = _flow(request)
    registration = _registration()
    check = flow.get("check")
    verified = bool(check and check["verified"])
    callback = flow.get("callback")
    return {
        "registration": _shown_registration(request, registration) if registration else None,
        "choice": flow.get("choice"),
        "authorization": _shown_authorization(flow["authorization"])
        if "authorization" in flow
        else None,
        "callback": callback,
        "code_waiting": "code" in flow,
        "token": flow.get("token"),
        "check": _shown_check(check) if check else None,
        "can_call_api": verified and bool(flow.get("access_token")),
        "api_calls": flow.get("api", []),
        "steps_done": {
            1: registration is not None,
            2: "choice" in flow,
            3: "authorization" in flow,
            4: bool(callback and not callback["error"]),
            5: "token" in flow,
            6: verified,
            7: bool(flow.get("api")),
        },
        "refusal": refusal,
        "max_title_length": MAX_TITLE_LENGTH,
    }


def _shown_registration(request: HttpRequest, registration: ClientRegistration) -> dict[str, str]:
    # The client secret is deliberately absent.
    return {
        "client_id": registration.client_id,
        "redirect_uri": _redirect_uri(request),
        "scopes": " ".join(SCOPES),
    }


def _shown_authorization(authorization: dict[str, str]) -> dict[str, str]:
    return {
        "url": authorization["url"],
        "state": authorization["state"],
        "code_challenge": authorization["code_challenge"],
        "code_verifier": mask(authorization["code_verifier"]),
    }


def _shown_check(check: dict[str, Any]) -> dict[str, Any]:
    return {
        "verified": check["verified"],
        "detail": check["detail"],
        "header": json.dumps(check["header"], indent=2),
        "claims": json.dumps(check["claims"], indent=2),
    }


class ChoiceView(View):
    """``POST /client/sign-in/``: step 2's answer; "yes" starts step 3, the redirect."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        registration = _registration()
        if registration is None:
            messages.error(request, _("The client is not registered: run manage.py demo_setup."))
            return _page()
        choice = request.POST.get("choice")
        if choice == "decline":
            _save(request, {"choice": "declined"})
            return _page("#step-2")
        if choice != "third-party":
            return HttpResponseBadRequest(_("Choose whether to sign in with the demo server."))
        authorization = start_authorization(
            registration,
            endpoints=ServerEndpoints.for_request(request),
            redirect_uri=_redirect_uri(request),
        )
        _save(
            request,
            {
                "choice": "third-party",
                "authorization": {
                    "url": authorization.url,
                    "state": authorization.state,
                    "code_challenge": authorization.code_challenge,
                    "code_verifier": authorization.code_verifier,
                },
                "pending_state": authorization.state,
            },
        )
        # Step 3: the browser goes to the authorization endpoint.
        return HttpResponseRedirect(authorization.url)


@method_decorator(never_cache, name="dispatch")
class CallbackView(View):
    """``GET /client/callback/``: step 4, the authorization response (RFC 6749 §4.1.2).

    The ``state`` must be the one this browser was sent off with at step 3
    (RFC 6749 §10.12); anything else is refused with a 400 and changes
    nothing, so a forged callback cannot end or hijack the visitor's flow.
    GET only: a ``HEAD`` (a link checker, a prefetch) must not use up the state.
    """

    http_method_names = ["get"]

    def get(self, request: HttpRequest) -> HttpResponse:
        flow = _flow(request)
        refusal = self._refusal(request.GET.get("state"), flow.get("pending_state"))
        if refusal is not None:
            return render(request, TEMPLATE, page_context(request, refusal=refusal), status=400)
        del flow["pending_state"]  # a state is good for one callback only
        error = request.GET.get("error")
        code = request.GET.get("code")
        flow["callback"] = {
            "url": mask_url(request.build_absolute_uri()),
            "code": mask(code) if code else None,
            "iss": request.GET.get("iss"),
            "error": error or (None if code else "invalid_request"),
            "error_description": request.GET.get("error_description")
            or ("" if code or error else _("The callback carried no code.")),
        }
        if code and not error:
            flow["code"] = code
        _save(request, flow)
        return _page("#step-4")

    def _refusal(self, state: str | None, expected: str | None) -> str | None:
        if not state:
            return _(
                "Refused: the callback carries no state parameter, so it cannot be tied "
                "to a sign-in started in this browser."
            )
        if not expected:
            return _(
                "Refused: no sign-in started in this browser is waiting for a callback "
                "(it was never started, or it has already been completed)."
            )
        if not hmac.compare_digest(state.encode(), expected.encode()):
            return _(
                "Refused: the state parameter does not match the one this browser was "
                "sent with at step 3. The callback may be forged (cross-site request forgery)."
            )
        return None


class TokenRequestView(View):
    """``POST /client/token/``: step 5, the code exchange, then step 6, the token's checks."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        flow = _flow(request)
        registration = _registration()
        if registration is None or "code" not in flow:
            messages.error(request, _("There is no authorization code to exchange: start again."))
            return _page()
        endpoints = ServerEndpoints.for_request(request)
        # The code is single-use: it leaves the session whatever the server answers.
        code = flow.pop("code")
        result = exchange_code(
            registration,
            endpoints=endpoints,
            redirect_uri=_redirect_uri(request),
            code=code,
            code_verifier=flow["authorization"]["code_verifier"],
        )
        flow["token"] = {
            "exchange": result.exchange.as_record() if result.exchange else None,
            "error": result.error,
        }
        if result.access_token is not None:
            check = verify_access_token(
                result.access_token, jwks_url=endpoints.jwks, issuer=flow["callback"]["iss"]
            )
            flow["access_token"] = result.access_token
            flow["check"] = {
                "header": check.header,
                "claims": check.claims,
                "verified": check.verified,
                "detail": check.detail,
            }
        _save(request, flow)
        return _page("#step-5")


class ApiCallView(View):
    """``POST /client/api/``: step 7, the notes API with ``Authorization: Bearer …``."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        flow = _flow(request)
        check = flow.get("check")
        if not (flow.get("access_token") and check and check["verified"]):
            messages.error(request, _("There is no verified access token to call the API with."))
            return _page()
        title = request.POST.get("title", "").strip()[:MAX_TITLE_LENGTH]
        exchange = call_notes_api(
            flow["access_token"],
            endpoints=ServerEndpoints.for_request(request),
            title=title or None,
        )
        flow["api"] = [exchange.as_record(), *flow.get("api", [])][:SHOWN_API_CALLS]
        _save(request, flow)
        return _page("#step-7")


class ResetView(View):
    """``POST /client/reset/``: forget this visitor's flow and start over."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        request.session.pop(SESSION_KEY, None)
        return _page()
