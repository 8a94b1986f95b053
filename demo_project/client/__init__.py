"""The demo's third-party OAuth client, served at ``/client/``.

It plays a separate web application that lets people "sign in with the
bearer_auth demo": it holds its own client credentials, sends the browser to
the authorization endpoint and calls the token endpoint and the notes API
over HTTP with requests-oauthlib, like any client on another host would.
"""
