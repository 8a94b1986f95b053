"""Prepare the demo: a superuser whose credentials are printed once per run."""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction


class Command(BaseCommand):
    help = (
        "Create or update the demo superuser and print its credentials. The email and "
        "password come from DJANGO_SUPERUSER_EMAIL / DJANGO_SUPERUSER_PASSWORD; without "
        "a password in the environment a new random one is set on every run."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        email = os.environ.get("DJANGO_SUPERUSER_EMAIL") or "admin@example.com"
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD") or secrets.token_urlsafe(12)
        user_model = get_user_model()
        with transaction.atomic():
            try:
                user = user_model._default_manager.get_by_natural_key(email)
            except user_model.DoesNotExist:
                user = user_model._default_manager.create_superuser(email, password)
            else:
                user.is_active = user.is_staff = user.is_superuser = True
                user.set_password(password)
                user.save()
        self.stdout.write(
            self.style.SUCCESS("Demo superuser (sign in at http://127.0.0.1:8000/admin/):")
        )
        self.stdout.write(f"  email:    {user.get_username()}")
        self.stdout.write(f"  password: {password}")
