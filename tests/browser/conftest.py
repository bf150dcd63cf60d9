"""Real-browser fixtures: the ASGI app under uvicorn (HTTP + websockets) and headless Chromium.

pytest-django's live_server is WSGI (no websockets), so the real `crowdsafe.asgi` app runs in
a subprocess on a free port, against the test database and the caller's Redis DB. Tests use
`transactional_db`, so what they write is committed and visible to that server.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import REPO, process_env, start_web

ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not os.path.exists(CHROMIUM) and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "chromium"], capture_output=True, timeout=600)
    if not os.path.exists(CHROMIUM):
        pytest.skip(
            f"SKIPPED LOUDLY: {CHROMIUM} is missing and could not be installed (apt-get install chromium)"
        )
    return CHROMIUM


@pytest.fixture(scope="session")
def browser_media(tmp_path_factory) -> Path:
    """MEDIA_ROOT shared by this process, the web server and any worker."""
    root = tmp_path_factory.mktemp("media")
    (root / "uploads").mkdir()
    return root


@pytest.fixture(autouse=True)
def _media(settings, browser_media):
    settings.MEDIA_ROOT = browser_media
    settings.UPLOAD_DIR = browser_media / "uploads"
    settings.RECORDINGS_DIR = browser_media / "recordings"
    settings.SNAPSHOTS_DIR = browser_media / "snapshots"


@pytest.fixture(scope="session")
def asgi_server(django_db_setup, django_db_blocker, tmp_path_factory, browser_media) -> Iterator[str]:
    """Base URL of crowdsafe.asgi:application served by uvicorn on 127.0.0.1."""
    static_root = tmp_path_factory.mktemp("static")
    env = {"STATIC_ROOT": str(static_root), "MEDIA_ROOT": str(browser_media)}
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=REPO,
        env=process_env(env),
        check=True,
        timeout=300,
    )
    server, base = start_web(tmp_path_factory.mktemp("uvicorn"), env, ready_path="/login/", ws="websockets")
    try:
        yield base
    finally:
        server.stop()


@pytest.fixture(scope="package")
def browser(chromium_path):
    """Chromium for the tests of this package only.

    Playwright's sync API keeps an asyncio loop running in this thread while it is open, so
    the ORM calls the tests make between browser steps need DJANGO_ALLOW_ASYNC_UNSAFE; both
    end with this package, so the tests after it (async_to_sync, subprocesses) see neither.
    """
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as pw:
            instance = pw.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
            yield instance
            instance.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def page(browser, asgi_server, request, transactional_db):
    """A fresh browser context per test; a screenshot is saved as an artefact afterwards."""
    context = browser.new_context(
        base_url=asgi_server, viewport={"width": 1400, "height": 1000}, accept_downloads=True
    )
    context.set_default_timeout(10_000)
    pg = context.new_page()
    yield pg
    ARTIFACTS.mkdir(exist_ok=True)
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in request.node.name)
    try:
        pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    finally:
        context.close()


def session_cookie(user, url: str) -> dict:
    """A real session cookie for `user` on the server at `url` (signed in by Django's client)."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    return {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": url}


@pytest.fixture
def login(page, asgi_server):
    """`login(user)`: put a real session cookie for `user` into the browser."""

    def do(user):
        page.context.add_cookies([session_cookie(user, asgi_server)])
        return page

    return do


def push(group: str, event: str, data: dict) -> None:
    """Send a live event to a Channels group (the same path the camera runners use)."""
    from core.push import push as send

    future = send(group, event, data)
    assert future is not None, "the channel layer refused the push"
    future.result(timeout=5)


def in_thread(fn, *args, **kwargs):
    """Run code that uses async_to_sync outside Playwright's event-loop thread."""
    import threading

    box: dict = {}

    def run() -> None:
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            box["error"] = exc
        finally:
            from django.db import connection

            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    if "error" in box:
        raise box["error"]
    return box.get("value")


@pytest.fixture
def control_room(transactional_db, users):
    """A camera running as under a runner (tests/browser/control_room.py) with an open CRITICAL
    alert, and another user to edit; see `admin_pages` for the pages it makes reachable."""
    from alerts.models import Alert, AlertLevel, AlertTrigger
    from cameras.models import Camera, CameraStatus, DesiredState, SourceType
    from tests.browser.control_room import Room, running

    camera = Camera.objects.create(
        name="North Gate",
        location="Stand B, level 2",
        source_type=SourceType.RTSP,
        source="rtsp://10.0.0.9/live",
        status=CameraStatus.RUNNING,
        desired_state=DesiredState.RUNNING,
    )
    alert = Alert.objects.create(
        camera=camera,
        level=AlertLevel.CRITICAL,
        trigger=AlertTrigger.DENSITY,
        message="Density 6.3 p/m² over 6.0 for 12 s",
        metrics={"scope": {"count": 41, "density": 6.3, "risk_score": 0.91}},
    )
    with running(camera):
        yield Room(camera, alert, users["operator"].pk)
