"""DPoP at the authorization endpoint: ``dpop_jkt`` binds the code to a key (RFC 9449 §10).

:class:`DPoPAuthorizationMixin` goes into :class:`bearer_auth.views.oauth.AuthorizationView`.
A client that sends ``dpop_jkt`` (the RFC 7638 SHA-256 thumbprint of its DPoP
key) gets a code that only a token request with a proof from that key
redeems: the thumbprint travels in the authorization credentials to the
validator's ``save_authorization_code``, which stores it with the grant
(:func:`bearer_auth.oidc.validator.store_authorization_context`), and the code
exchange refuses a proof from another key, or none, with ``invalid_dpop_proof``.

The thumbprint reaches the code whichever way the request is approved:

- automatically (``skip_authorization``, an earlier approval): DOT hands the
  credentials :meth:`~DPoPAuthorizationMixin.validate_authorization_request`
  returned straight to ``create_authorization_response``;
- on the consent page: DOT's form carries the request in hidden fields and
  builds the credentials from them alone, so the form has one more hidden
  field (:class:`DPoPAllowForm`), filled from the checked request
  (``get_initial``) and read back, checked again as the page's other fields
  are, when the answer is posted.

While DPoP is off (:func:`bearer_auth.dpop.enabled`) ``dpop_jkt`` is ignored.
"""

from __future__ import annotations

import re
from typing import Any, Final

from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext as _
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.forms import AllowForm
from oauthlib.oauth2.rfc6749.errors import InvalidRequestError

from bearer_auth import dpop

#: The authorization request parameter (RFC 9449 §10).
PARAMETER: Final = "dpop_jkt"
#: A base64url SHA-256 thumbprint (RFC 7638, RFC 9449 §10): 43 characters.
_THUMBPRINT: Final = re.compile(r"[A-Za-z0-9_-]{43}")


def is_thumbprint(value: object) -> bool:
    """Whether ``value`` has the shape of a base64url SHA-256 JWK thumbprint."""
    return isinstance(value, str) and _THUMBPRINT.fullmatch(value) is not None


class DPoPAllowForm(AllowForm):  # type: ignore[misc]
    """DOT's consent form, carrying the request's ``dpop_jkt`` too."""

    dpop_jkt = forms.CharField(required=False, widget=forms.HiddenInput())

    def clean_dpop_jkt(self) -> str:
        """An altered thumbprint is refused as the page's other altered fields are."""
        value: str = self.cleaned_data.get(PARAMETER) or ""
        if value and not is_thumbprint(value):
            raise forms.ValidationError(_("The dpop_jkt is not a JWK SHA-256 thumbprint."))
        return value


class DPoPAuthorizationMixin:
    """``dpop_jkt`` from the authorization request to the code (see the module)."""

    form_class = DPoPAllowForm
    request: HttpRequest
    #: The request's checked ``dpop_jkt`` (``None``: none, or DPoP is off).
    dpop_jkt: str | None = None

    def validate_authorization_request(self, request: HttpRequest) -> tuple[list[str], Any]:
        """Check ``dpop_jkt`` once the client and its redirect URI are known; keep it.

        A malformed one is ``invalid_request``, sent to the client's verified
        redirect URI. (A repeated one never gets here: the view refuses
        every repeated parameter first.)
        """
        scopes, credentials = super().validate_authorization_request(request)  # type: ignore[misc]
        self.dpop_jkt = None
        # Always set: oauthlib's request would otherwise answer ``dpop_jkt``
        # with the raw query parameter (it exposes every one as an attribute).
        credentials[PARAMETER] = None
        if not dpop.enabled() or PARAMETER not in request.GET:
            return scopes, credentials
        value = request.GET[PARAMETER]
        if not is_thumbprint(value):
            raise OAuthToolkitError(
                error=InvalidRequestError(
                    description=_("The dpop_jkt is not a JWK SHA-256 thumbprint."),
                    request=credentials["request"],
                ),
                redirect_uri=credentials["redirect_uri"],
            )
        self.dpop_jkt = value
        credentials[PARAMETER] = value
        return scopes, credentials

    def get_initial(self) -> dict[str, Any]:
        """The consent form's hidden fields: DOT's, and the checked ``dpop_jkt``."""
        initial: dict[str, Any] = super().get_initial()  # type: ignore[misc]
        initial[PARAMETER] = self.dpop_jkt or ""
        return initial

    def form_valid(self, form: Any) -> Any:
        """The consent answer: its ``dpop_jkt`` field is what binds the code, not the URL."""
        value = form.cleaned_data.get(PARAMETER) or None
        self.dpop_jkt = value if dpop.enabled() else None
        return super().form_valid(form)  # type: ignore[misc]

    def create_authorization_response(
        self, request: HttpRequest, scopes: str, credentials: dict[str, Any], allow: bool
    ) -> Any:
        """Hand the checked ``dpop_jkt`` (the request's, or the consent form's) to the validator.

        Set even when there is none: oauthlib's request answers any query
        parameter as an attribute, and the consent page posts to its own
        address, query included; only the checked value may bind the code.
        """
        credentials = {**credentials, PARAMETER: self.dpop_jkt}
        return super().create_authorization_response(request, scopes, credentials, allow)  # type: ignore[misc]
