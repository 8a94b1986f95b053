"""The demo's settings without throttles, for races over HTTP against gunicorn workers.

Each trial spends one refresh token 20 times at once; the throttles (per
IP, and the loopback address is every racer's) would answer some racers
429 before the race is decided, and the race is what is tested.
"""

from __future__ import annotations

from demo_project.settings import *  # noqa: F403
from demo_project.settings import BEARER_AUTH

BEARER_AUTH = {
    **BEARER_AUTH,
    "SIGN_IN_THROTTLE_RATES": {},
    "REFRESH_THROTTLE_RATE": None,
    "OAUTH_THROTTLE_RATES": {},
}
