"""RFC 6749 §3.1: request parameters are sent at most once.

Django's ``QueryDict`` keeps every value of a repeated field, but ``get()``
(and DOT's request body, which keeps the last value) reads one of them, so
``grant_type=password&grant_type=client_credentials`` would be answered as
if the client had sent one. The token endpoints, OAuth and first-party,
refuse such a body with ``invalid_request`` (:func:`repeated_parameter`).
"""

from __future__ import annotations

from typing import Final

from django.utils.datastructures import MultiValueDict

#: Parameters a request may repeat: RFC 8707 §2 ``resource`` (DOT reads every value).
REPEATABLE: Final = frozenset({"resource"})


def repeated_parameter(parameters: object) -> str | None:
    """Return the name of the first parameter sent more than once, or ``None``.

    ``parameters`` is a form body as Django parses it (``request.POST``, or
    DRF's ``request.data`` of a form: a ``QueryDict``); anything else, such as
    a parsed JSON object, holds one value per name.
    """
    if not isinstance(parameters, MultiValueDict):
        return None
    for name, values in parameters.lists():
        if len(values) > 1 and name not in REPEATABLE:
            return str(name)
    return None
