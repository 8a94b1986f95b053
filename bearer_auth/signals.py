"""Signals bearer_auth sends (definitions only)."""

from __future__ import annotations

from django.dispatch import Signal

#: Sent when a request's bearer token is refused. Arguments: ``request`` (the
#: Django request) and ``reason`` (the error class name, e.g. ``"TokenExpired"``).
#: The token itself is never passed.
token_rejected = Signal()
