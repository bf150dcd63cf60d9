from __future__ import annotations

from django.conf import settings

from accounts.roles import Role, has_role


def crowdsafe(request) -> dict:
    user = getattr(request, "user", None)
    return {
        "display_time_zone": settings.TIME_ZONE,
        "is_admin": has_role(user, Role.ADMIN),
        "is_operator": has_role(user, Role.OPERATOR),
    }
