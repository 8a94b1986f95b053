"""OpenID Connect on bearer_auth's managed keys (docs/oidc.md).

- :mod:`~bearer_auth.oidc.claims`: the user's claims by scope (ID tokens, UserInfo);
- :mod:`~bearer_auth.oidc.auth_time`: when the user signed in, in this browser;
- :mod:`~bearer_auth.oidc.validator`: oauthlib's OpenID Connect hooks, ID tokens signed
  with the active key.

OpenID Connect is on when ``OAUTH2_PROVIDER["OIDC_ENABLED"]`` is (DOT's own switch).
"""
