"""What the demo client keeps about its own registration."""

from __future__ import annotations

from django.db import models


class ClientRegistration(models.Model):
    """The demo client's credentials, as a third-party client keeps them in its config.

    The authorization server stores only a hash of the secret; the client
    needs the secret itself to authenticate at the token endpoint, so this
    row (written by ``manage.py demo_setup``) is the client side's copy. It
    is never rendered.
    """

    client_id = models.CharField(max_length=100, unique=True)
    client_secret = models.CharField(max_length=255)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created",)

    def __str__(self) -> str:
        return self.client_id
