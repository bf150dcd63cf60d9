"""Small parsers for untrusted request values: ids, redirect targets, byte ranges.

`str.isdigit()` accepts "²" and other Unicode digits that `int()` refuses, and `int()`
refuses more than 4,300 digits: both used to end in a 500. These helpers answer None instead.
"""

from __future__ import annotations

import re

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

_ID = re.compile(r"[0-9]{1,18}")
_RANGE = re.compile(r"bytes=([0-9]{0,18})-([0-9]{0,18})")


def parse_id(value: str | None) -> int | None:
    """A database id from a query or form value (ASCII digits, bounded), else None."""
    if value is None or not _ID.fullmatch(value):
        return None
    return int(value)


def parse_range(header: str) -> tuple[str, str] | None:
    """The two ends of a single `bytes=first-last` Range header (either may be empty), else None."""
    match = _RANGE.fullmatch(header or "")
    if match is None or not (match.group(1) or match.group(2)):
        return None
    return match.group(1), match.group(2)


def safe_next(request: HttpRequest, url: str | None) -> str | None:
    """`url` when it is a path on this site (Django's own check: no scheme, host, `//` or `/\\`)."""
    if not url or not url.startswith("/"):
        return None
    if not url_has_allowed_host_and_scheme(url, allowed_hosts=None, require_https=request.is_secure()):
        return None
    return url
