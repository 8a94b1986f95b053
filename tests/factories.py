"""factory_boy factories that work with any AUTH_USER_MODEL."""

from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth import get_user_model


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")

    @factory.lazy_attribute
    def username(self) -> str:
        return self.email

    @classmethod
    def _adjust_kwargs(cls, **kwargs: Any) -> dict[str, Any]:
        # Only auth.User has a username field; drop it for email-keyed models.
        if get_user_model().USERNAME_FIELD != "username":
            kwargs.pop("username", None)
        return kwargs

    @factory.post_generation
    def password(obj: Any, create: bool, extracted: str | None, **kwargs: Any) -> None:
        obj.set_password(extracted or "correct horse battery staple")
        if create:
            obj.save(update_fields=["password"])


class ApplicationFactory(factory.django.DjangoModelFactory):
    """A confidential authorization-code client of DOT's (swappable) Application model."""

    class Meta:
        model = "oauth2_provider.Application"

    name = factory.Sequence(lambda n: f"Client {n}")
    client_id = factory.Sequence(lambda n: f"client-{n}")
    client_type = "confidential"
    authorization_grant_type = "authorization-code"
    redirect_uris = "https://client.example/callback"
    client_secret = "client-secret-for-tests"
