"""The side-by-side performance benchmark: ``make bench`` (``python -m bench``).

bearer_auth's authentication class, sign-in and refresh are measured in one
run, interleaved, against djangorestframework-simplejwt, django-oauth-toolkit
and the floors (PyJWT decode, one ORM query, ``check_password``), on SQLite
and PostgreSQL, and by ``make bench`` on the oldest and the newest Django of
the CI matrix. The figures that hold across machines are the ratios; they and
their targets (:data:`bench.report.RATIOS`) are written to
``docs/performance.md``.
"""
