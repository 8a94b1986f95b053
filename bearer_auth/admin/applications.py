"""OAuth applications: secret shown once, redirect URIs and scopes validated.

The policy box (:class:`ApplicationPolicyInline`) holds bearer_auth's
per-client settings, OpenID Connect's and DPoP's (``dpop_bound_access_tokens``,
"DPoP required", RFC 9449 §5.2) among them; the post-logout redirect
URIs are DOT's own field, beside the redirect URIs. DOT's ``algorithm``
(ID tokens signed with ``OIDC_RSA_PRIVATE_KEY`` or the client secret) is not
offered: bearer_auth signs ID tokens with its managed keys.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from oauth2_provider.models import get_application_model
from oauth2_provider.scopes import get_scopes_backend
from oauth2_provider.settings import oauth2_settings

from bearer_auth import dpop, keys
from bearer_auth.admin.base import ActionPermissionMixin
from bearer_auth.keys.cache import current_key_set
from bearer_auth.models import ApplicationPolicy
from bearer_auth.oauth.registration import check_client_id, give_new_secret
from bearer_auth.oidc.validator import openid_refusal
from bearer_auth.policy import application_policy, check_redirect_uri
from bearer_auth.settings import bearer_settings

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

#: Where ``save_model`` leaves a new plaintext secret for ``response_add``: on
#: that request's application object, never on the admin (shared by all requests).
_NEW_SECRET: Final = "_bearer_auth_new_client_secret"

#: The grants bearer_auth offers (RFC 9700: no implicit, no password grant).
OFFERED_GRANT_TYPES = (
    ("authorization-code", _("Authorization code (with PKCE)")),
    ("client-credentials", _("Client credentials (confidential clients only)")),
)
#: How the first-party application (``FIRST_PARTY_CLIENT_ID``) signs in: DOT
#: stores it as the password grant, which ``/o/token/`` refuses.
FIRST_PARTY_GRANT = ("first-party", _("First-party sign-in (/auth/token/)"))

#: Said beside the OpenID Connect settings while the server has it off.
OIDC_OFF = _(
    'OpenID Connect is off on this server (OAUTH2_PROVIDER["OIDC_ENABLED"]): '
    "these settings are kept, and apply once it is on."
)
#: Said beside the DPoP setting while the server has DPoP off.
DPOP_OFF = _(
    'DPoP is off on this server (BEARER_AUTH["DPOP_SIGNING_ALGORITHMS"] is empty, or '
    'ACCESS_TOKEN_FORMAT is not "jwt"): a client that requires DPoP gets no tokens until '
    "it is on."
)


def is_first_party(application: Any) -> bool:
    """Whether ``application`` is the built-in first-party application."""
    return application is not None and bool(
        application.client_id == bearer_settings.FIRST_PARTY_CLIENT_ID
    )


def grant_type_label(application: Any) -> StrOrPromise:
    """The grant an application gets tokens with, as this server sees it."""
    if is_first_party(application):
        return FIRST_PARTY_GRANT[1]
    offered = dict(OFFERED_GRANT_TYPES)
    grant = application.authorization_grant_type
    if grant in offered:
        return offered[grant]
    return _("%(grant)s (refused by this server)") % {
        "grant": application.get_authorization_grant_type_display()
    }


class GrantTypeFilter(admin.SimpleListFilter):
    """The grants this server accepts, and the first-party sign-in; none it refuses."""

    title = _("authorization grant type")
    parameter_name = "grant_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, StrOrPromise]]:
        return [*OFFERED_GRANT_TYPES, FIRST_PARTY_GRANT]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        first_party = bearer_settings.FIRST_PARTY_CLIENT_ID
        value = self.value()
        filtered: QuerySet[Any] = queryset
        if value == FIRST_PARTY_GRANT[0]:
            filtered = queryset.filter(client_id=first_party)
        elif value in dict(OFFERED_GRANT_TYPES):
            filtered = queryset.filter(authorization_grant_type=value).exclude(
                client_id=first_party
            )
        return filtered


class ApplicationAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    """DOT's application fields minus the secret; redirect URIs validated per RFC 9700/8252."""

    authorization_grant_type = forms.ChoiceField(
        label=_("authorization grant type"), choices=OFFERED_GRANT_TYPES
    )
    #: The redirect URIs as :meth:`clean` accepted them (``None``: refused).
    _accepted_redirect_uris: str | None = None

    class Meta:
        model = get_application_model()
        fields = (
            "name",
            "client_id",
            "client_type",
            "authorization_grant_type",
            "redirect_uris",
            "post_logout_redirect_uris",
            "skip_authorization",
            "user",
        )
        help_texts = {
            "redirect_uris": _(
                "Space-separated, matched exactly. https only; http only for loopback "
                "(127.0.0.1, [::1], localhost), which matches on any port (RFC 8252)."
            ),
            "post_logout_redirect_uris": _(
                "OpenID Connect: where the client may send the user after signing out at "
                "this server (post_logout_redirect_uri of RP-initiated logout). "
                "Space-separated, matched and validated like the redirect URIs."
            ),
            "skip_authorization": _(
                "Skip the consent page. Only for applications you run yourself."
            ),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if is_first_party(self.instance):
            # Shown as what it is, and not editable: any other grant breaks /auth/token/.
            field = self.fields["authorization_grant_type"]
            assert isinstance(field, forms.ChoiceField)  # noqa: S101  narrows the type
            field.choices = [(self.instance.authorization_grant_type, FIRST_PARTY_GRANT[1])]
            field.disabled = True
        if not oauth2_settings.OIDC_ENABLED:
            logout_uris = self.fields["post_logout_redirect_uris"]
            logout_uris.help_text = f"{logout_uris.help_text} {OIDC_OFF}"

    def clean_client_id(self) -> str:
        """Refuse a ``client_id`` that is a user's ``sub``: its tokens would name that user."""
        value = str(self.cleaned_data.get("client_id") or "")
        check_client_id(value)
        return value

    def clean_redirect_uris(self) -> str:
        return _clean_redirect_uris(self.cleaned_data.get("redirect_uris"))

    def clean_post_logout_redirect_uris(self) -> str:
        return _clean_redirect_uris(self.cleaned_data.get("post_logout_redirect_uris"))

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        # DOT's algorithm (OIDC_RSA_PRIVATE_KEY or the secret signs ID tokens)
        # does not apply: bearer_auth signs with its managed keys. A value
        # carried over from DOT is cleared, or DOT's Application.clean()
        # would refuse it (RS256 without that key) on a field the form lacks.
        self.instance.algorithm = ""
        grant = cleaned.get("authorization_grant_type")
        if (
            grant == "authorization-code"
            and not cleaned.get("redirect_uris")
            and ("redirect_uris" not in self.errors)
        ):
            self.add_error("redirect_uris", _("An authorization-code client needs a redirect URI."))
        if grant == "client-credentials" and cleaned.get("client_type") != "confidential":
            self.add_error(
                "client_type", _("Client credentials are for confidential clients only.")
            )
        # What the form accepted, before the model's validation has its say.
        self._accepted_redirect_uris = cleaned.get("redirect_uris")
        return cleaned

    def full_clean(self) -> None:
        """Validate as Django does, then drop DOT's verdict on redirect URIs the form accepted.

        The model validation that ends Django's ``full_clean()`` runs DOT's
        ``Application.clean()``, which accepts ``ALLOWED_REDIRECT_URI_SCHEMES``
        (https) only. :meth:`clean_redirect_uris` already ran DOT's validator on
        every URI, with http allowed for loopback URIs alone (RFC 8252 §7.3).
        """
        super().full_clean()
        accepted = self._accepted_redirect_uris
        if accepted is not None and "redirect_uris" in self.errors:
            del self.errors["redirect_uris"]
            self.cleaned_data["redirect_uris"] = accepted


def _clean_redirect_uris(value: Any) -> str:
    """Normalise space-separated URIs; refuse any :func:`check_redirect_uri` refuses."""
    uris = str(value or "").split()
    errors: list[ValidationError] = []
    for uri in uris:
        try:
            check_redirect_uri(uri)
        except ValidationError as error:
            errors.extend(error.error_list)
    if errors:
        raise ValidationError(errors)
    return " ".join(uris)


def active_key_algorithm() -> str | None:
    """The ``alg`` of the active signing key, or ``None`` before the first key exists.

    Read from the key set as the process holds it: showing a form never
    creates a key.
    """
    key_set = current_key_set()
    key = key_set.keys.get(key_set.active_kid) if key_set.active_kid else None
    return key.algorithm if key is not None else None


class ApplicationPolicyForm(forms.ModelForm):  # type: ignore[type-arg]
    """Allowed scopes as checkboxes of ``OAUTH2_PROVIDER["SCOPES"]``; OpenID Connect, DPoP."""

    allowed_scopes = forms.MultipleChoiceField(
        label=_("allowed scopes"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every scope the server defines."),
    )
    id_token_signed_response_alg = forms.ChoiceField(
        label=_("ID-token signing algorithm"),
        required=False,
        help_text=_(
            "ID tokens are signed with the active signing key. A client that registered "
            "another algorithm is refused OpenID Connect until the keys are rotated to it "
            "(bearer_keys rotate --algorithm)."
        ),
    )

    class Meta:
        model = ApplicationPolicy
        fields = (
            "allowed_scopes",
            "access_token_lifetime",
            "openid_connect",
            "id_token_signed_response_alg",
            "dpop_bound_access_tokens",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["allowed_scopes"]
        assert isinstance(field, forms.MultipleChoiceField)  # noqa: S101  narrows the type
        field.choices = [
            (name, f"{name}: {description}")
            for name, description in get_scopes_backend().get_all_scopes().items()
        ]
        self.initial["allowed_scopes"] = str(self.instance.allowed_scopes or "").split()
        algorithm = self.fields["id_token_signed_response_alg"]
        assert isinstance(algorithm, forms.ChoiceField)  # noqa: S101  narrows the type
        active = active_key_algorithm()
        blank = (
            _("The active key's algorithm (now %(alg)s)") % {"alg": active}
            if active
            else _("The active key's algorithm")
        )
        algorithm.choices = [("", blank), *((name, name) for name in keys.GENERATED_ALGORITHMS)]

    def clean_allowed_scopes(self) -> str:
        return " ".join(sorted(self.cleaned_data.get("allowed_scopes") or ()))


class ApplicationPolicyInline(admin.StackedInline):  # type: ignore[type-arg]
    model = ApplicationPolicy
    form = ApplicationPolicyForm
    can_delete = False
    max_num = 1
    verbose_name = _("bearer_auth policy")
    verbose_name_plural = _("bearer_auth policy")

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        """Scopes and lifetime, OpenID Connect, then DPoP (each said to be off while it is)."""
        oidc: dict[str, Any] = {"fields": ("openid_connect", "id_token_signed_response_alg")}
        if not oauth2_settings.OIDC_ENABLED:
            oidc["description"] = OIDC_OFF
        sender_constraint: dict[str, Any] = {"fields": ("dpop_bound_access_tokens",)}
        if not dpop.enabled():
            sender_constraint["description"] = DPOP_OFF
        return [
            (None, {"fields": ("allowed_scopes", "access_token_lifetime")}),
            (_("OpenID Connect"), oidc),
            (_("DPoP (RFC 9449)"), sender_constraint),
        ]


class ApplicationAdmin(ActionPermissionMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """OAuth clients: the secret is generated, shown once, and stored as a hash.

    One instance of this class serves every request: a new secret travels on
    the request's own application object (:data:`_NEW_SECRET`), never on
    ``self``, so two administrators adding applications at once each see
    their own. A popup add (the "+" beside an application field) shows the
    secret too; its *Done* button then hands the application to the form
    that opened the popup.
    """

    form = ApplicationAdminForm
    inlines = (ApplicationPolicyInline,)
    list_display = ("name", "client_id", "client_type", "grant_type", "created")
    # registration_source: "Dynamic Client Registration" for clients that
    # registered themselves (their page: Client registrations).
    list_filter = ("client_type", GrantTypeFilter, "skip_authorization", "registration_source")
    search_fields = ("name", "client_id")
    raw_id_fields = ("user",)
    actions = ("regenerate_secret",)
    secret_template = "bearer_auth/admin/client_secrets.html"
    secret_popup_template = "bearer_auth/admin/client_secret_popup.html"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("client_id",) if obj is not None else ()

    @admin.display(description=_("authorization grant type"), ordering="authorization_grant_type")
    def grant_type(self, obj: Any) -> StrOrPromise:
        return grant_type_label(obj)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change:
            # DOT's ClientSecretField stores its hash; response_add shows it once.
            setattr(obj, _NEW_SECRET, give_new_secret(obj))
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Save the policy box; warn when its OpenID Connect settings refuse the client now."""
        super().save_related(request, form, formsets, change)
        client_policy = application_policy(form.instance)
        if (
            oauth2_settings.OIDC_ENABLED
            and client_policy is not None
            and client_policy.openid_connect
            and (refusal := openid_refusal(form.instance))
        ):
            self.message_user(request, refusal, messages.WARNING)

    def response_add(
        self, request: HttpRequest, obj: Any, post_url_continue: str | None = None
    ) -> HttpResponse:
        shown = [(obj, obj.__dict__.pop(_NEW_SECRET, None))]
        title = _("Application created")
        if IS_POPUP_VAR in request.POST:
            # Django's popup answer carries what the opener needs (the new
            # row's value and label); shown on the secret page instead, whose
            # "Done" passes it on. Popup change and delete answers are Django's.
            response = cast(TemplateResponse, super().response_add(request, obj, post_url_continue))
            response.template_name = self.secret_popup_template
            response.context_data = {
                **(response.context_data or {}),
                **self._secrets_context(request, shown, title),
                "is_popup": True,
            }
            response["Cache-Control"] = "no-store"
            return response
        return self._render_secrets(request, shown, title)

    @admin.action(description=_("Regenerate client secret"), permissions=["change"])
    def regenerate_secret(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse:
        """Give each selected confidential client a new secret; show it once."""
        shown: list[tuple[Any, str | None]] = []
        for application in queryset.filter(client_type="confidential"):
            secret = give_new_secret(application)
            application.save(update_fields=["client_secret", "hash_client_secret", "updated"])
            self.log_change(request, application, "Regenerated the client secret.")
            shown.append((application, secret))
        return self._render_secrets(request, shown, _("New client secrets"))

    def _secrets_context(
        self, request: HttpRequest, applications: list[tuple[Any, str | None]], title: StrOrPromise
    ) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "applications": [
                {
                    "application": application,
                    "secret": secret if _confidential(application) else None,
                }
                for application, secret in applications
            ],
            "changelist_url": _changelist_url(self.model),
        }

    def _render_secrets(
        self, request: HttpRequest, applications: list[tuple[Any, str | None]], title: StrOrPromise
    ) -> HttpResponse:
        """Render secrets directly: never stored, never put in a message or the session."""
        context = self._secrets_context(request, applications, title)
        response = TemplateResponse(request, self.secret_template, context)
        response["Cache-Control"] = "no-store"
        return response


def _confidential(application: Any) -> bool:
    return bool(application.client_type == "confidential")


def _changelist_url(model: type[Model]) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
