"""Throttling of the form logins (`/login/`, `/admin/login/`), like the API login's.

Failed sign-ins are counted per client address in the cache (Redis) over the window of
CROWDSAFE_LOGIN_THROTTLE (default 10/min); past the limit a POST is answered 429 with the
login form and a clear message, without checking the password. A successful sign-in (a
redirect) is not counted. If the cache is down the form still works (logged), unthrottled.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

log = logging.getLogger(__name__)
FORM_LOGIN_PATHS = frozenset({"/login/", "/admin/login/"})
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def login_rate() -> tuple[int, int]:
    """(attempts, window seconds) from CROWDSAFE_LOGIN_THROTTLE, e.g. "10/min" -> (10, 60)."""
    rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login"]
    count, period = rate.split("/")
    return int(count), _PERIODS[period.strip()[0]]


def client_ident(request: HttpRequest) -> str:
    """The client address; X-Forwarded-For only as far as CROWDSAFE_NUM_PROXIES trusts it."""

    if api_settings.NUM_PROXIES is not None:
        return BaseThrottle().get_ident(request)
    return request.META.get("REMOTE_ADDR", "")


def _key(request: HttpRequest) -> str:
    return f"login-form-failures:{client_ident(request)}"


def _throttled(request: HttpRequest, wait_s: int) -> HttpResponse:
    form = AuthenticationForm(request, data={})  # bound and empty: no password is ever checked
    form.full_clean()
    form.add_error(None, f"Too many failed sign-ins from this address; try again within {wait_s} s.")
    response = render(request, "registration/login.html", {"form": form, "next": ""}, status=429)
    response["Retry-After"] = str(wait_s)
    return response


class FormLoginThrottleMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST" or request.path not in FORM_LOGIN_PATHS:
            return self.get_response(request)
        limit, window = login_rate()
        key = _key(request)
        try:
            failures = cache.get(key, 0)
        except Exception:  # noqa: BLE001 - a cache outage must not lock everybody out
            log.warning("Login throttle unavailable (cache error); form login not throttled")
            return self.get_response(request)
        if failures >= limit:
            return _throttled(request, window)
        response = self.get_response(request)
        if response.status_code != 302:  # not signed in: one more failure
            try:
                if not cache.add(key, 1, timeout=window):
                    cache.incr(key)
            except Exception:  # noqa: BLE001
                log.warning("Login throttle unavailable (cache error)")
        return response
