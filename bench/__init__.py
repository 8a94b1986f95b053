"""The side-by-side performance benchmark: ``make bench`` (``python -m bench``).

bearer_auth's authentication class, sign-in and refresh are measured in one
run, interleaved, against djangorestframework-simplejwt, django-oauth-toolkit
and the floors (PyJWT decode, one ORM query, ``check_password``). The figures
that hold across machines are the ratios; they are written to
``docs/performance.md``.
"""
