from __future__ import annotations

from django.conf import settings

from accounts.roles import Role, has_role
from alerts.selectors import unacknowledged_count


def crowdsafe(request) -> dict:
    """Role flags and the sidebar's alert badge for every template."""

    user = getattr(request, "user", None)
    return {
        "display_time_zone": settings.TIME_ZONE,
        "is_admin": has_role(user, Role.ADMIN),
        "is_operator": has_role(user, Role.OPERATOR),
        # A callable: the template counts only when it shows the badge (signed-in pages).
        "unacknowledged_alerts": unacknowledged_count if has_role(user, Role.VIEWER) else 0,
    }
