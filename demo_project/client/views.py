"""``/client/`` and ``/client/oidc/``: a page each, walking through the steps, and their endpoints.

``/client/`` is the OAuth 2.0 walk-through (seven steps, ending with the notes
API); ``/client/oidc/`` is the same client signing the person in with OpenID
Connect (eight steps: the ID token validated against discovery, UserInfo,
RP-initiated logout). Steps 1 to 5 are the same code for both, a
:class:`Variant` apart.

The state of a visitor's flow (the ``state`` value, the PKCE verifier, the
nonce, the code, the tokens and what each step sent and received) lives in the
client's own session, under the variant's key: a Django session of its own
cookie (:data:`SESSION_COOKIE`), not the server's, as another application
on another host would keep it, so that the server's sign-out (RP-initiated
logout ends the server's session) leaves it. Raw credentials kept there are
never put in a template context: the page gets masked copies.
"""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass
from importlib import import_module
from typing import Any, Final

from django.conf import settings
from django.contrib import messages
from django.contrib.sessions.backends.base import SessionBase
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseBase,
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
    OPENID_SCOPES,
    SCOPES,
    ServerEndpoints,
    call_notes_api,
    exchange_code,
    start_authorization,
    verify_access_token,
)
from demo_project.client.models import ClientRegistration
from demo_project.client.oidc import (
    call_userinfo,
    fetch_discovery,
    logout_url,
    tampered_copy,
    validate_id_token,
)

#: The longest note title the client sends (the notes API allows 200 characters).
MAX_TITLE_LENGTH: Final = 200
#: How many of step 7's calls the page keeps, newest first.
SHOWN_API_CALLS: Final = 5
#: The cookie of the client's own session (path ``/client/``).
SESSION_COOKIE: Final = "demo_client_session"


@dataclass(frozen=True)
class Variant:
    """What tells ``/client/`` and ``/client/oidc/`` apart."""

    #: Where the visitor's flow is kept in their session.
    session_key: str
    template: str
    #: Prefix of the variant's URL names in the ``demo_client`` namespace.
    url_prefix: str
    scopes: tuple[str, ...]
    #: OpenID Connect: a nonce at step 3, an ID token at step 6.
    openid: bool

    def url(self, name: str) -> str:
        """Return the path of this variant's URL called ``name``."""
        return reverse(f"demo_client:{self.url_prefix}{name}")

    def page(self, fragment: str = "") -> HttpResponseRedirect:
        """Send the browser back to this variant's page, at ``fragment``."""
        return HttpResponseRedirect(self.url("index") + fragment)

    def redirect_uri(self, request: HttpRequest) -> str:
        """The client's ``redirect_uri`` for this variant, on the origin the browser used."""
        return request.build_absolute_uri(self.url("callback"))

    def flow(self, session: SessionBase) -> dict[str, Any]:
        """This visitor's flow so far (empty before step 2)."""
        flow: dict[str, Any] = session.get(self.session_key) or {}
        return flow

    def save(self, session: SessionBase, flow: dict[str, Any]) -> None:
        session[self.session_key] = flow


OAUTH: Final = Variant(
    session_key="demo_client_flow",
    template="client/client.html",
    url_prefix="",
    scopes=SCOPES,
    openid=False,
)
OPENID: Final = Variant(
    session_key="demo_client_oidc_flow",
    template="client/oidc.html",
    url_prefix="oidc-",
    scopes=OPENID_SCOPES,
    openid=True,
)


def _registration() -> ClientRegistration | None:
    registration: ClientRegistration | None = ClientRegistration._default_manager.first()
    return registration


def _issuer(request: HttpRequest) -> str:
    """Return the issuer the client knows: the server it is served by, as the browser named it."""
    return request.build_absolute_uri("/").rstrip("/")


def _signed_out_uri(request: HttpRequest) -> str:
    return request.build_absolute_uri(OPENID.url("signed-out"))


def _state_matches(state: str, expected: str) -> bool:
    return hmac.compare_digest(state.encode(), expected.encode())


class VariantView(View):
    """A view of one variant (``as_view(variant=OPENID)``; ``/client/`` by default).

    ``self.client_session`` is the client's own session, saved and its
    cookie set after the view when the view changed it.
    """

    variant: Variant = OAUTH
    client_session: SessionBase

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        store: type[SessionBase] = import_module(settings.SESSION_ENGINE).SessionStore
        self.client_session = store(session_key=request.COOKIES.get(SESSION_COOKIE))
        response = super().dispatch(request, *args, **kwargs)
        if self.client_session.modified:
            self.client_session.save()
            response.set_cookie(
                SESSION_COOKIE,
                str(self.client_session.session_key),
                max_age=settings.SESSION_COOKIE_AGE,
                path=reverse("demo_client:index"),
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response

    @property
    def flow(self) -> dict[str, Any]:
        """This visitor's flow of this view's variant."""
        return self.variant.flow(self.client_session)

    def save(self, flow: dict[str, Any]) -> None:
        self.variant.save(self.client_session, flow)

    def render_page(
        self, request: HttpRequest, *, refusal: str | None = None, status: int = 200
    ) -> HttpResponse:
        context = page_context(request, self.variant, self.flow, refusal=refusal)
        return render(request, self.variant.template, context, status=status)


@method_decorator(never_cache, name="dispatch")
class ClientPageView(VariantView):
    """``GET /client/`` (``/client/oidc/``): the steps, with what this visitor's flow has done."""

    http_method_names = ["get", "head"]

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render_page(request)


def page_context(
    request: HttpRequest, variant: Variant, flow: dict[str, Any], *, refusal: str | None = None
) -> dict[str, Any]:
    """Build the page's context from the visitor's ``flow``, with every credential masked."""
    registration = _registration()
    callback = flow.get("callback")
    context: dict[str, Any] = {
        "registration": _shown_registration(request, variant, registration)
        if registration
        else None,
        "urls": {
            name.replace("-", "_"): variant.url(name)
            for name in ("index", "sign-in", "token", "reset")
        },
        "openid": variant.openid,
        "other_variant_url": (OAUTH if variant.openid else OPENID).url("index"),
        "choice": flow.get("choice"),
        "authorization": _shown_authorization(flow["authorization"])
        if "authorization" in flow
        else None,
        "callback": callback,
        "code_waiting": "code" in flow,
        "token": flow.get("token"),
        "refusal": refusal,
    }
    steps_done = {
        1: registration is not None,
        2: "choice" in flow,
        3: "authorization" in flow,
        4: bool(callback and not callback["error"]),
        5: "token" in flow,
    }
    if variant.openid:
        context.update(_openid_context(flow))
        steps_done.update(
            {
                6: bool(flow.get("validation") and flow["validation"]["accepted"]),
                7: bool(flow.get("userinfo")),
                8: bool(flow.get("signed_out")),
            }
        )
    else:
        check = flow.get("check")
        verified = bool(check and check["verified"])
        context.update(
            {
                "check": _shown_check(check) if check else None,
                "can_call_api": verified and bool(flow.get("access_token")),
                "api_calls": flow.get("api", []),
                "max_title_length": MAX_TITLE_LENGTH,
            }
        )
        steps_done.update({6: verified, 7: bool(flow.get("api"))})
    context["steps_done"] = steps_done
    return context


def _openid_context(flow: dict[str, Any]) -> dict[str, Any]:
    validation = flow.get("validation")
    discovery = flow.get("discovery")
    document = (discovery or {}).get("document") or {}
    accepted = bool(validation and validation["accepted"])
    return {
        "discovery": discovery,
        "validation": _shown_validation(validation) if validation else None,
        "tampered": _shown_validation(flow["tampered"]) if flow.get("tampered") else None,
        "can_tamper": accepted and bool(flow.get("id_token")),
        "can_call_userinfo": accepted and bool(flow.get("access_token")),
        "userinfo": flow.get("userinfo"),
        "can_sign_out": accepted
        and bool(flow.get("id_token"))
        and bool(document.get("end_session_endpoint")),
        "end_session_endpoint": document.get("end_session_endpoint"),
        "logout": flow.get("logout"),
        "signed_out": flow.get("signed_out"),
    }


def _shown_registration(
    request: HttpRequest, variant: Variant, registration: ClientRegistration
) -> dict[str, str]:
    # The client secret is deliberately absent.
    shown = {
        "client_id": registration.client_id,
        "redirect_uri": variant.redirect_uri(request),
        "scopes": " ".join(variant.scopes),
    }
    if variant.openid:
        shown["post_logout_redirect_uri"] = _signed_out_uri(request)
    return shown


def _shown_authorization(authorization: dict[str, Any]) -> dict[str, Any]:
    return {
        "url": authorization["url"],
        "state": authorization["state"],
        "nonce": authorization.get("nonce"),
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


def _shown_validation(validation: dict[str, Any]) -> dict[str, Any]:
    return {
        "accepted": validation["accepted"],
        "checks": validation["checks"],
        "header": json.dumps(validation["header"], indent=2),
        "claims": json.dumps(validation["claims"], indent=2),
    }


class ChoiceView(VariantView):
    """``POST /client/sign-in/``: step 2's answer; "yes" starts step 3, the redirect."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        variant = self.variant
        registration = _registration()
        if registration is None:
            messages.error(request, _("The client is not registered: run manage.py demo_setup."))
            return variant.page()
        choice = request.POST.get("choice")
        if choice == "decline":
            self.save({"choice": "declined"})
            return variant.page("#step-2")
        if choice != "third-party":
            return HttpResponseBadRequest(_("Choose whether to sign in with the demo server."))
        authorization = start_authorization(
            registration,
            endpoints=ServerEndpoints.for_request(request),
            redirect_uri=variant.redirect_uri(request),
            scopes=variant.scopes,
            nonce=secrets.token_urlsafe(24) if variant.openid else None,
        )
        self.save(
            {
                "choice": "third-party",
                "authorization": {
                    "url": authorization.url,
                    "state": authorization.state,
                    "nonce": authorization.nonce,
                    "code_challenge": authorization.code_challenge,
                    "code_verifier": authorization.code_verifier,
                },
                "pending_state": authorization.state,
            },
        )
        # Step 3: the browser goes to the authorization endpoint.
        return HttpResponseRedirect(authorization.url)


@method_decorator(never_cache, name="dispatch")
class CallbackView(VariantView):
    """``GET /client/callback/``: step 4, the authorization response (RFC 6749 §4.1.2).

    The ``state`` must be the one this browser was sent off with at step 3
    (RFC 6749 §10.12); anything else is refused with a 400 and changes
    nothing, so a forged callback cannot end or hijack the visitor's flow.
    GET only: a ``HEAD`` (a link checker, a prefetch) must not use up the state.
    """

    http_method_names = ["get"]

    def get(self, request: HttpRequest) -> HttpResponse:
        variant = self.variant
        flow = self.flow
        refusal = self._refusal(request.GET.get("state"), flow.get("pending_state"))
        if refusal is not None:
            return self.render_page(request, refusal=refusal, status=400)
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
        self.save(flow)
        return variant.page("#step-4")

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
        if not _state_matches(state, expected):
            return _(
                "Refused: the state parameter does not match the one this browser was "
                "sent with at step 3. The callback may be forged (cross-site request forgery)."
            )
        return None


class TokenRequestView(VariantView):
    """``POST /client/token/``: step 5, the code exchange, then step 6, the token's checks.

    ``/client/`` verifies the access token against the JWKS; ``/client/oidc/``
    validates the ID token against the discovery document.
    """

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        variant = self.variant
        flow = self.flow
        registration = _registration()
        if registration is None or "code" not in flow:
            messages.error(request, _("There is no authorization code to exchange: start again."))
            return variant.page()
        endpoints = ServerEndpoints.for_request(request)
        # The code is single-use: it leaves the session whatever the server answers.
        code = flow.pop("code")
        result = exchange_code(
            registration,
            endpoints=endpoints,
            redirect_uri=variant.redirect_uri(request),
            code=code,
            code_verifier=flow["authorization"]["code_verifier"],
        )
        flow["token"] = {
            "exchange": result.exchange.as_record() if result.exchange else None,
            "error": result.error,
        }
        if result.access_token is not None and variant.openid:
            flow["access_token"] = result.access_token
            self._validate_id_token(request, flow, registration, result.id_token)
        elif result.access_token is not None:
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
        self.save(flow)
        return variant.page("#step-5")

    def _validate_id_token(
        self,
        request: HttpRequest,
        flow: dict[str, Any],
        registration: ClientRegistration,
        id_token: str | None,
    ) -> None:
        """Step 6 of ``/client/oidc/``: fetch discovery, then check the ID token against it."""
        if id_token is None:
            flow["token"]["error"] = _(
                "The token response carries no id_token: the server did not grant openid."
            )
            return
        discovery = fetch_discovery(_issuer(request))
        flow["discovery"] = discovery.as_record()
        flow["id_token"] = id_token
        if discovery.document is not None:
            flow["validation"] = validate_id_token(
                id_token,
                discovery=discovery.document,
                client_id=registration.client_id,
                nonce=flow["authorization"]["nonce"],
                access_token=flow["access_token"],
            ).as_record()


class ApiCallView(VariantView):
    """``POST /client/api/``: step 7, the notes API with ``Authorization: Bearer …``."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        flow = self.flow
        check = flow.get("check")
        if not (flow.get("access_token") and check and check["verified"]):
            messages.error(request, _("There is no verified access token to call the API with."))
            return OAUTH.page()
        title = request.POST.get("title", "").strip()[:MAX_TITLE_LENGTH]
        exchange = call_notes_api(
            flow["access_token"],
            endpoints=ServerEndpoints.for_request(request),
            title=title or None,
        )
        flow["api"] = [exchange.as_record(), *flow.get("api", [])][:SHOWN_API_CALLS]
        self.save(flow)
        return OAUTH.page("#step-7")


class ResetView(VariantView):
    """``POST /client/reset/``: forget this visitor's flow and start over."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        self.client_session.pop(self.variant.session_key, None)
        return self.variant.page()


class OpenIDView(VariantView):
    """A view of ``/client/oidc/`` past step 6."""

    variant = OPENID

    def accepted(self, request: HttpRequest) -> tuple[dict[str, Any], ClientRegistration] | None:
        """This visitor's flow and the client's registration, if step 6 accepted the ID token."""
        flow = self.flow
        validation = flow.get("validation")
        registration = _registration()
        if not (validation and validation["accepted"] and flow.get("id_token") and registration):
            messages.error(request, _("There is no validated ID token: sign in first."))
            return None
        return flow, registration


class TamperView(OpenIDView):
    """``POST /client/oidc/tamper/``: step 6 again, on a copy of the ID token naming someone else.

    The payload is rewritten, the signature kept: the signature check must
    fail, which the page shows beside the genuine token's checks.
    """

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        accepted = self.accepted(request)
        if accepted is None:
            return OPENID.page()
        flow, registration = accepted
        flow["tampered"] = validate_id_token(
            tampered_copy(flow["id_token"]),
            discovery=flow["discovery"]["document"],
            client_id=registration.client_id,
            nonce=flow["authorization"]["nonce"],
            access_token=flow["access_token"],
        ).as_record()
        self.save(flow)
        return OPENID.page("#tampered")


class UserInfoView(OpenIDView):
    """``POST /client/oidc/userinfo/``: step 7, the UserInfo endpoint with the access token.

    The ``sub`` it answers must be the ID token's (OpenID Connect Core §5.3.4).
    """

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        accepted = self.accepted(request)
        if accepted is None:
            return OPENID.page()
        flow = accepted[0]
        exchange = call_userinfo(
            flow["access_token"],
            userinfo_endpoint=flow["discovery"]["document"]["userinfo_endpoint"],
        )
        flow["userinfo"] = {
            "exchange": exchange.as_record(),
            "sub_matches": _userinfo_sub(exchange.response_body)
            == flow["validation"]["claims"]["sub"],
        }
        self.save(flow)
        return OPENID.page("#step-7")


def _userinfo_sub(body: str) -> Any:
    try:
        document = json.loads(body)
    except ValueError:
        return None
    return document.get("sub") if isinstance(document, dict) else None


class LogoutView(OpenIDView):
    """``POST /client/oidc/logout/``: step 8, OpenID Connect RP-Initiated Logout 1.0.

    The browser goes to the discovery document's ``end_session_endpoint``
    with the ID token as ``id_token_hint``, the client's registered
    ``post_logout_redirect_uri`` and a fresh ``state``, which the server
    must bring back to :class:`SignedOutView`.
    """

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        accepted = self.accepted(request)
        if accepted is None:
            return OPENID.page()
        flow, registration = accepted
        endpoint = flow["discovery"]["document"].get("end_session_endpoint")
        if not endpoint:
            messages.error(request, _("The discovery document names no end_session_endpoint."))
            return OPENID.page("#step-8")
        state = secrets.token_urlsafe(16)
        url = logout_url(
            endpoint,
            id_token=flow["id_token"],
            client_id=registration.client_id,
            post_logout_redirect_uri=_signed_out_uri(request),
            state=state,
        )
        flow["logout"] = {"url": mask_url(url), "state": state}
        flow["pending_logout_state"] = state
        self.save(flow)
        return HttpResponseRedirect(url)


@method_decorator(never_cache, name="dispatch")
class SignedOutView(OpenIDView):
    """``GET /client/oidc/signed-out/``: where the server sends the browser after logout.

    The ``state`` must be the one step 8 sent; then the client forgets its
    tokens too. Anything else is refused with a 400 and changes nothing.
    """

    http_method_names = ["get"]

    def get(self, request: HttpRequest) -> HttpResponse:
        flow = self.flow
        state = request.GET.get("state") or ""
        expected = flow.get("pending_logout_state") or ""
        if not (state and expected and _state_matches(state, expected)):
            refusal = _(
                "Refused: this is not the answer to a sign-out started in this browser "
                "(the state parameter is missing or is not the one step 8 sent)."
            )
            return self.render_page(request, refusal=refusal, status=400)
        for credential in ("pending_logout_state", "access_token", "id_token"):
            flow.pop(credential, None)
        flow["signed_out"] = {"url": mask_url(request.build_absolute_uri())}
        self.save(flow)
        return OPENID.page("#step-8")
