"""Sign-ins, failed sign-ins and sign-outs into the audit trail, from Django's auth signals.

The login form, the admin site and the JWT login (which sends `user_logged_in` itself, see
accounts/api/auth.py) all end here. A failed sign-in names the username tried and never the
password (Django already masks it in `credentials`; only the username is read).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

from core import audit


def _client(request) -> dict:
    return {"ip": request.META.get("REMOTE_ADDR", "")} if request is not None else {}


def logged_in(sender, request, user, **kwargs) -> None:
    audit.record(audit.Action.LOGIN, actor=user, obj=user, **_client(request))


def logged_out(sender, request, user, **kwargs) -> None:
    if user is not None and user.is_authenticated:
        audit.record(audit.Action.LOGOUT, actor=user, obj=user, **_client(request))


def login_failed(sender, credentials, request=None, **kwargs) -> None:
    username = str(credentials.get("username") or "")[:150]
    User = get_user_model()
    known = User.objects.filter(username=username).first() if username else None
    audit.record(
        audit.Action.LOGIN_FAILED,
        obj=known,
        level="WARNING",
        message=f"Sign-in failed for “{username}”",
        username=username,
        **_client(request),
    )


def connect() -> None:
    user_logged_in.connect(logged_in, dispatch_uid="crowdsafe.audit.login")
    user_logged_out.connect(logged_out, dispatch_uid="crowdsafe.audit.logout")
    user_login_failed.connect(login_failed, dispatch_uid="crowdsafe.audit.login_failed")
