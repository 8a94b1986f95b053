"""The email-login user model and its manager.

``AbstractEmailUser`` is the base for projects that want extra fields;
``User`` is the concrete, swappable model (``AUTH_USER_MODEL =
"bearer_auth.User"``). Everything else in bearer_auth works with any user
model through ``get_user_model()``.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import connections, models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from oauth2_provider.settings import oauth2_settings


class UserManager(BaseUserManager["AbstractEmailUser"]):
    """Create users by email and find them by email, case-insensitively."""

    use_in_migrations = True

    @classmethod
    def normalize_email(cls, email: str | None) -> str:
        """Strip surrounding white space and lower-case the domain part."""
        return super().normalize_email((email or "").strip())

    def get_by_natural_key(self, username: str | None) -> AbstractEmailUser:
        """Return the user whose email matches ``username`` ignoring case.

        Both sides go through the database's ``LOWER()``, the same function
        the unique constraint uses, so a lookup can never match an address the
        constraint would consider different. Nothing else is folded: a
        look-alike Unicode address is another address.
        """
        # The case-insensitive unique constraint allows one match at most.
        user: AbstractEmailUser = (
            self.get_queryset()
            .alias(_email_ci=Lower("email"))
            .get(_email_ci=Lower(models.Value(self.normalize_email(username))))
        )
        return user

    def fold_username(self, username: str) -> str:
        """Return ``username`` as :meth:`get_by_natural_key` compares it, folded by the database.

        The same ``LOWER()`` of the same normalized address, computed by the
        database the users are read from: PostgreSQL's ``LOWER('İ')`` is
        ``i`` where Python's ``'İ'.lower()`` is ``i̇``, and SQLite folds ASCII
        only. The sign-in throttle keys its account budget by it, so every
        spelling that reaches one account spends that account's budget.
        """
        with connections[self.db].cursor() as cursor:
            cursor.execute("SELECT LOWER(%s)", [self.normalize_email(username)])
            row = cursor.fetchone()
        return str(row[0])

    def _create_user(
        self, email: str | None, password: str | None, **extra_fields: Any
    ) -> AbstractEmailUser:
        email = self.normalize_email(email)
        if not email:
            raise ValueError("The given email must be set")
        user = self.model(email=email, **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(
        self, email: str | None, password: str | None = None, **extra_fields: Any
    ) -> AbstractEmailUser:
        """Create and save a user; ``password=None`` gives an unusable password."""
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    create_user.alters_data = True  # type: ignore[attr-defined]

    def create_superuser(
        self, email: str | None, password: str | None = None, **extra_fields: Any
    ) -> AbstractEmailUser:
        """Create and save a superuser; refuse flags that would contradict it."""
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        if extra_fields.get("is_staff") is not True:
            raise ValueError("Superuser must have is_staff=True.")
        if extra_fields.get("is_superuser") is not True:
            raise ValueError("Superuser must have is_superuser=True.")
        return self._create_user(email, password, **extra_fields)

    create_superuser.alters_data = True  # type: ignore[attr-defined]


class AbstractEmailUser(AbstractBaseUser, PermissionsMixin):
    """A user who signs in with an email address.

    Subclass it to add fields; keep ``objects = UserManager()`` (or a
    subclass) so ``createsuperuser`` and case-insensitive sign-in keep
    working.
    """

    public_id = models.UUIDField(
        _("public id"),
        default=uuid.uuid4,
        unique=True,
        editable=False,
        help_text=_("Stable identifier used as the subject (sub) of access tokens."),
    )
    # unique=True satisfies Django's auth.E003; the functional constraint in
    # Meta is the one that makes addresses unique regardless of case.
    email = models.EmailField(
        _("email address"),
        max_length=254,
        unique=True,
        error_messages={"unique": _("A user with this email address already exists.")},
    )
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    short_name = models.CharField(_("short name"), max_length=150, blank=True)
    is_staff = models.BooleanField(
        _("staff status"),
        default=False,
        help_text=_("Designates whether the user can log into the admin site."),
    )
    is_active = models.BooleanField(
        _("active"),
        default=True,
        help_text=_(
            "Designates whether this user should be treated as active. "
            "Unselect this instead of deleting accounts."
        ),
    )
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        abstract = True
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ("email",)
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                Lower("email"),
                name="%(app_label)s_%(class)s_email_ci_unique",
                violation_error_message=_("A user with this email address already exists."),
            ),
        ]

    def clean(self) -> None:
        """Normalize the email the way the manager does (no Unicode folding)."""
        super(AbstractBaseUser, self).clean()
        self.email = type(self).objects.normalize_email(self.email)

    def get_full_name(self) -> str:
        """Return the full name, or the email when no name is set."""
        return self.full_name.strip() or self.email

    def get_short_name(self) -> str:
        """Return the short name, or the email's local part."""
        return self.short_name.strip() or self.email.rsplit("@", 1)[0]


class User(AbstractEmailUser):
    """The concrete email user: set ``AUTH_USER_MODEL = "bearer_auth.User"``."""

    class Meta(AbstractEmailUser.Meta):
        swappable = "AUTH_USER_MODEL"


class SigningKey(models.Model):
    """A key that signs (active) or only verifies (retired) access tokens.

    The private key is stored encrypted (see :mod:`bearer_auth.keys`); the
    public half is kept as a JWK. At most one key is active: a partial unique
    constraint on ``active`` makes concurrent first-use creation end with one.
    """

    kid = models.CharField(_("key id"), max_length=64, unique=True, editable=False)
    algorithm = models.CharField(_("algorithm"), max_length=10, editable=False)
    public_jwk = models.JSONField(_("public JWK"), editable=False)
    encrypted_private_key = models.TextField(_("encrypted private key"), editable=False)
    # True while the key signs; None once retired (NULLs never collide in the
    # unique constraint, so any number of keys can be retired).
    active = models.BooleanField(_("active"), null=True, default=True, editable=False)
    created = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("signing key")
        verbose_name_plural = _("signing keys")
        ordering = ("-created",)
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["active"],
                condition=models.Q(active=True),
                name="bearer_auth_one_active_signing_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.algorithm} {self.kid}"


class TokenSession(models.Model):
    """What the user sees of one sign-in: a DOT refresh-token family.

    Written at sign-in and refresh only, never on ordinary API requests. The
    tokens themselves live in DOT's tables; this row is their metadata.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    token_family = models.UUIDField(_("token family"), unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="bearer_sessions",
        verbose_name=_("user"),
    )
    application = models.ForeignKey(
        oauth2_settings.APPLICATION_MODEL,
        on_delete=models.CASCADE,
        related_name="bearer_sessions",
        verbose_name=_("application"),
    )
    created = models.DateTimeField(_("created"), default=timezone.now)
    last_used = models.DateTimeField(_("last used"), default=timezone.now)
    expires = models.DateTimeField(_("expires"))
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=512, blank=True)
    # bearer_auth.jwt.password_fingerprint(user) at sign-in: a refresh after
    # any change of the password hash (even a queryset update) is refused.
    password_fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    revoked = models.DateTimeField(_("revoked"), null=True, blank=True)
    # The OpenID Connect ID token issued with the family (its ``sid`` is this
    # session's id); ``None`` for a sign-in without ``openid``. DOT's
    # cleartokens deletes it once expired: the session stays.
    id_token = models.OneToOneField(
        oauth2_settings.ID_TOKEN_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="bearer_session",
        verbose_name=_("ID token"),
    )
    # DPoP (RFC 9449, bearer_auth.dpop): the RFC 7638 thumbprint of the key
    # the family's latest tokens are bound to; empty for Bearer tokens. A
    # public client's refresh needs a proof from this key.
    dpop_jkt = models.CharField(_("DPoP key thumbprint"), max_length=64, blank=True, editable=False)

    class Meta:
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        ordering = ("-last_used",)
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["user", "revoked"], name="bearer_auth_session_user_idx"),
        ]

    def __str__(self) -> str:
        return f"Session {self.pk}"


class ApplicationPolicy(models.Model):
    """bearer_auth's settings for one DOT application (kept beside it, not swapped in)."""

    application = models.OneToOneField(
        oauth2_settings.APPLICATION_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="bearer_policy",
        verbose_name=_("application"),
    )
    allowed_scopes = models.TextField(
        _("allowed scopes"),
        blank=True,
        help_text=_("Space-separated scopes this client may ask for."),
    )
    access_token_lifetime = models.DurationField(
        _("access-token lifetime"),
        null=True,
        blank=True,
        help_text=_("Leave empty to use BEARER_AUTH['ACCESS_TOKEN_LIFETIME']."),
    )
    openid_connect = models.BooleanField(
        _("OpenID Connect"),
        default=True,
        help_text=_(
            "May this client sign users in with OpenID Connect (the openid scope, ID tokens)? "
            "Only while OAUTH2_PROVIDER['OIDC_ENABLED'] is on."
        ),
    )
    id_token_signed_response_alg = models.CharField(
        _("ID-token signing algorithm"),
        max_length=10,
        blank=True,
        help_text=_(
            "The algorithm this client expects its ID tokens to be signed with. Leave empty "
            "to accept the algorithm of the active signing key."
        ),
    )
    dpop_bound_access_tokens = models.BooleanField(
        _("DPoP required"),
        default=False,
        help_text=_(
            "Refuse this client's token requests that carry no DPoP proof: its tokens are always "
            "bound to a key it holds (RFC 9449)."
        ),
    )

    class Meta:
        verbose_name = _("application policy")
        verbose_name_plural = _("application policies")

    def __str__(self) -> str:
        return f"Policy of application {self.pk}"


class InitialAccessToken(models.Model):
    """An RFC 7591 §3 initial access token: lets its holder register clients.

    Issued by an administrator (``manage.py bearer_registration_token``),
    shown once, stored as its SHA-256 digest only. Usable until ``expires``,
    at most ``max_uses`` registrations, and not after ``revoked``.
    """

    token_checksum = models.CharField(
        _("token checksum"), max_length=64, unique=True, editable=False
    )
    label = models.CharField(_("label"), max_length=255, blank=True)
    created = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    expires = models.DateTimeField(_("expires"))
    max_uses = models.PositiveIntegerField(
        _("registrations allowed"), default=1, help_text=_("How many clients it may register.")
    )
    uses = models.PositiveIntegerField(_("registrations made"), default=0, editable=False)
    revoked = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("initial access token")
        verbose_name_plural = _("initial access tokens")
        ordering = ("-created",)

    def __str__(self) -> str:
        return self.label or f"Initial access token {self.pk}"

    def usable(self, *, now: Any = None) -> bool:
        """Whether it may register one more client now (not expired, used up or revoked)."""
        now = now or timezone.now()
        return self.revoked is None and self.expires > now and self.uses < self.max_uses


class ClientRegistration(models.Model):
    """How a DOT application came through dynamic client registration (RFC 7591).

    One row per registered client, written with the application in one
    transaction: when and from where it registered, the metadata accepted,
    the digest of its RFC 7592 registration access token, and the
    administrator's decisions (approved, disabled).
    """

    application = models.OneToOneField(
        oauth2_settings.APPLICATION_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="bearer_registration",
        verbose_name=_("application"),
    )
    registered = models.DateTimeField(_("registered"), default=timezone.now, editable=False)
    ip_address = models.GenericIPAddressField(
        _("IP address"), null=True, blank=True, editable=False
    )
    policy = models.CharField(
        _("registration policy"),
        max_length=32,
        editable=False,
        help_text=_("BEARER_AUTH['CLIENT_REGISTRATION'] when the client registered."),
    )
    initial_access_token = models.ForeignKey(
        InitialAccessToken,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="registrations",
        verbose_name=_("initial access token"),
    )
    metadata = models.JSONField(_("metadata"), default=dict, editable=False)
    registration_token_checksum = models.CharField(
        _("registration access token checksum"), max_length=64, unique=True, editable=False
    )
    approved = models.DateTimeField(
        _("approved"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("Empty: waiting for an administrator (REGISTRATION_REQUIRES_APPROVAL)."),
    )
    disabled = models.DateTimeField(_("disabled"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("client registration")
        verbose_name_plural = _("client registrations")
        ordering = ("-registered",)

    def __str__(self) -> str:
        return f"Registration of application {self.pk}"
