"""Fixtures of the OpenID Connect tests."""

from __future__ import annotations

from typing import Any

import pytest

from bearer_auth import keys

#: The algorithms managed keys are generated for, each of which signs ID tokens.
ID_TOKEN_ALGORITHMS = ("RS256", "ES256", "EdDSA")


@pytest.fixture(params=ID_TOKEN_ALGORITHMS)
def id_token_algorithm(request: pytest.FixtureRequest, db: Any) -> str:
    """An active managed key of each algorithm in turn; return its ``alg``."""
    algorithm: str = request.param
    keys.rotate_signing_key(algorithm=algorithm)
    assert keys.current_signing_key().algorithm == algorithm
    return algorithm
