"""Admin forms for the email user model."""

from __future__ import annotations

from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from bearer_auth.models import User


class EmailUserCreationForm(AdminUserCreationForm):  # type: ignore[type-arg]
    """Create a user from an email address, with a password or an unusable one."""

    class Meta:
        model = User
        fields = ("email", "full_name")


class EmailUserChangeForm(UserChangeForm):  # type: ignore[type-arg]
    """Edit a user; the password is shown as its hash summary with a change link."""

    class Meta:
        model = User
        fields = "__all__"
