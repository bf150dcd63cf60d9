"""Who is still allowed on a long-lived connection (websocket, MJPEG stream).

Those connections authenticate once when they open; `still_allowed` is asked again every
CROWDSAFE_LIVE_AUTH_RECHECK_S seconds so a user who is deactivated, demoted, logged out or
whose password changed (Django's session hash) loses the live video and alerts within seconds.
"""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django.contrib.auth import get_user, get_user_model

from accounts.roles import Role, has_role


class _SessionOnly:
    """What django.contrib.auth.get_user needs of a request: its session."""

    def __init__(self, session) -> None:
        self.session = session


def session_user(session_key: str):
    """The active user of a stored session (checking its password hash), else None."""
    if not session_key:
        return None
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = get_user(_SessionOnly(store))
    return user if user.is_authenticated else None


def still_allowed(user_id: int, session_key: str | None, minimum: Role) -> bool:
    """The connection's user still holds `minimum`; with a session, that session is still theirs."""
    if session_key:
        user = session_user(session_key)
        if user is None or user.pk != user_id:
            return False
    else:
        user = get_user_model().objects.filter(pk=user_id).first()
    return has_role(user, minimum)
