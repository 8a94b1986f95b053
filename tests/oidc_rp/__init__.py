"""A second Django project: a relying party on mozilla-django-oidc, signing in at bearer_auth.

The browser test ``tests/browser/test_oidc_rp.py`` runs it in a child process
(``DJANGO_SETTINGS_MODULE=tests.oidc_rp.settings``) against bearer_auth as the
OpenID Provider. Nothing here imports bearer_auth: the relying party knows the
provider by its URLs and its client registration only, as any other site would.
"""
