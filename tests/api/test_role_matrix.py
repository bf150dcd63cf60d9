"""Every API endpoint x every role (and anonymous): the exact status code.

The matrix must cover every operation of the OpenAPI schema; a new endpoint without a row
here fails `test_the_matrix_covers_every_endpoint`.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from accounts.roles import Role
from cameras.models import Camera, Recording

pytestmark = pytest.mark.django_db
_names = itertools.count()
ANY, VIEWER, OPERATOR, ADMIN = None, Role.VIEWER, Role.OPERATOR, Role.ADMIN
_RANK = {VIEWER: 1, OPERATOR: 2, ADMIN: 3}


class Ctx:
    def __init__(self, camera, alert_factory, users, media_root):
        self.camera, self.make_alert, self.users = camera, alert_factory, users

    def new_camera(self, **extra) -> int:
        return Camera.objects.create(name=f"Matrix cam {next(_names)}", **extra).pk

    def new_alert(self) -> int:
        return self.make_alert().pk

    def new_alert_with_media(self) -> int:
        alert = self.make_alert()
        alert.snapshot.save(f"snap_{next(_names)}.jpg", ContentFile(b"\xff\xd8" + b"0" * 64), save=False)
        alert.clip.save(f"clips/{self.camera.pk}/clip_{next(_names)}.mp4", ContentFile(b"0" * 64))
        return alert.pk

    def new_recording(self) -> int:
        recording = Recording(camera=self.camera, started_at=timezone.now() - timedelta(minutes=5))
        recording.file.save(f"clip_{next(_names)}.mp4", ContentFile(b"\x00\x00\x00\x18ftypmp42" + b"0" * 64))
        return recording.pk

    def new_user(self, role: str = Role.VIEWER) -> int:
        from django.contrib.auth import get_user_model

        return get_user_model().objects.create_user(f"matrix_{next(_names)}", password="x" * 12, role=role).pk


# (method, schema path, minimum role or ANY for public, status when allowed, path ids, body)
CASES = [
    ("get", "/api/auth/me/", VIEWER, 200, {}, None),
    ("get", "/api/cameras/", VIEWER, 200, {}, None),
    (
        "post",
        "/api/cameras/",
        ADMIN,
        201,
        {},
        lambda c: {
            "name": f"New cam {next(_names)}",
            "source_type": "rtsp",
            "source": "rtsp://u:p@10.1.2.3/live",
        },
    ),
    ("get", "/api/cameras/{id}/", VIEWER, 200, {"id": lambda c: c.camera.pk}, None),
    (
        "put",
        "/api/cameras/{id}/",
        ADMIN,
        200,
        {"id": lambda c: c.new_camera()},
        lambda c: {"name": f"Renamed {next(_names)}", "area_m2": 80},
    ),
    (
        "patch",
        "/api/cameras/{id}/",
        ADMIN,
        200,
        {"id": lambda c: c.camera.pk},
        lambda c: {"location": "Gate B"},
    ),
    ("delete", "/api/cameras/{id}/", ADMIN, 204, {"id": lambda c: c.new_camera()}, None),
    (
        "post",
        "/api/cameras/{id}/start/",
        OPERATOR,
        (200, 202),
        {"id": lambda c: c.new_camera(source_type="rtsp", source="rtsp://10.9.9.9/live")},
        None,
    ),
    ("post", "/api/cameras/{id}/stop/", OPERATOR, 200, {"id": lambda c: c.new_camera()}, None),
    ("post", "/api/cameras/{id}/test/", OPERATOR, 200, {"id": lambda c: c.new_camera()}, None),
    ("post", "/api/cameras/{id}/upload/", OPERATOR, 400, {"id": lambda c: c.camera.pk}, lambda c: {}),
    ("get", "/api/cameras/{id}/current/", VIEWER, 200, {"id": lambda c: c.camera.pk}, None),
    (
        "post",
        "/api/cameras/test-connection/",
        ADMIN,
        200,
        {},
        lambda c: {"source_type": "file", "source": "missing.mp4"},
    ),
    ("get", "/api/metrics/summary/", VIEWER, 200, {}, None),
    ("get", "/api/metrics/{camera_id}/", VIEWER, 200, {"camera_id": lambda c: c.camera.pk}, None),
    ("get", "/api/metrics/{camera_id}/history/", VIEWER, 200, {"camera_id": lambda c: c.camera.pk}, None),
    ("get", "/api/metrics/{camera_id}/current/", VIEWER, 200, {"camera_id": lambda c: c.camera.pk}, None),
    ("get", "/api/metrics/{camera_id}/summary/", VIEWER, 200, {"camera_id": lambda c: c.camera.pk}, None),
    ("get", "/api/metrics/{camera_id}/aggregate/", VIEWER, 200, {"camera_id": lambda c: c.camera.pk}, None),
    ("get", "/api/metrics/{camera_id}/export/", OPERATOR, 200, {"camera_id": lambda c: c.camera.pk}, None),
    ("get", "/api/alerts/", VIEWER, 200, {}, None),
    ("get", "/api/alerts/{id}/", VIEWER, 200, {"id": lambda c: c.new_alert()}, None),
    (
        "post",
        "/api/alerts/{id}/acknowledge/",
        OPERATOR,
        200,
        {"id": lambda c: c.new_alert()},
        lambda c: {"note": "on it"},
    ),
    (
        "post",
        "/api/alerts/{id}/resolve/",
        OPERATOR,
        200,
        {"id": lambda c: c.new_alert()},
        lambda c: {"note": "cleared"},
    ),
    ("get", "/api/alerts/{id}/snapshot/", VIEWER, 200, {"id": lambda c: c.new_alert_with_media()}, None),
    ("get", "/api/alerts/{id}/clip/", VIEWER, 200, {"id": lambda c: c.new_alert_with_media()}, None),
    ("get", "/api/alerts/unacknowledged/count/", VIEWER, 200, {}, None),
    ("get", "/api/alerts/statistics/", VIEWER, 200, {}, None),
    ("get", "/api/recordings/", VIEWER, 200, {}, None),
    ("get", "/api/recordings/{id}/", VIEWER, 200, {"id": lambda c: c.new_recording()}, None),
    ("get", "/api/recordings/{id}/download/", OPERATOR, 200, {"id": lambda c: c.new_recording()}, None),
    ("delete", "/api/recordings/{id}/", ADMIN, 204, {"id": lambda c: c.new_recording()}, None),
    ("get", "/api/users/", ADMIN, 200, {}, None),
    (
        "post",
        "/api/users/",
        ADMIN,
        201,
        {},
        lambda c: {"username": f"new_user_{next(_names)}", "password": "Tr0ub4dor&3-long", "role": "viewer"},
    ),
    ("get", "/api/users/{id}/", ADMIN, 200, {"id": lambda c: c.new_user()}, None),
    (
        "put",
        "/api/users/{id}/",
        ADMIN,
        200,
        {"id": lambda c: c.new_user()},
        lambda c: {"full_name": "Put Name"},
    ),
    ("patch", "/api/users/{id}/", ADMIN, 200, {"id": lambda c: c.new_user()}, lambda c: {"role": "operator"}),
    ("delete", "/api/users/{id}/", ADMIN, 204, {"id": lambda c: c.new_user()}, None),
    ("post", "/api/users/{id}/deactivate/", ADMIN, 200, {"id": lambda c: c.new_user()}, None),
    ("post", "/api/users/{id}/reset-password/", ADMIN, 200, {"id": lambda c: c.new_user()}, lambda c: {}),
    ("get", "/api/settings/", ADMIN, 200, {}, None),
    ("put", "/api/settings/", ADMIN, 200, {}, lambda c: {"alert_cooldown_s": 90}),
    ("patch", "/api/settings/", ADMIN, 200, {}, lambda c: {"alert_cooldown_s": 120}),
    ("post", "/api/settings/telegram-test/", ADMIN, 200, {}, None),
    ("get", "/api/settings/{category}/", ADMIN, 200, {"category": lambda c: "risk"}, None),
    (
        "put",
        "/api/settings/{category}/{key}/",
        ADMIN,
        200,
        {"category": lambda c: "alerts", "key": lambda c: "alert_cooldown_s"},
        lambda c: {"value": 75},
    ),
    ("post", "/api/settings/risk-thresholds/", ADMIN, 200, {}, lambda c: {"density_warning": 3.8}),
    ("get", "/api/system/stats/", VIEWER, 200, {}, None),
    ("get", "/api/system/logs/", ADMIN, 200, {}, None),
    ("get", "/api/schema/", VIEWER, 200, {}, None),  # the map of the API is not public
]
# Endpoints anyone may call, with what each caller gets.
PUBLIC = [
    ("get", "/api/system/health/", 200, None),
    ("post", "/api/auth/login/", 400, {}),
    ("post", "/api/auth/refresh/", 400, {}),
    ("post", "/api/auth/logout/", 400, {}),
]
# Served outside DRF (its own auth) and checked in its own tests.
ELSEWHERE = {("get", "/api/cameras/{camera_id}/stream/"), ("get", "/api/cameras/{camera_id}/still/")}


@pytest.fixture
def ctx(camera, make_alert, users, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return Ctx(camera, make_alert, users, tmp_path)


def _expected(min_role, ok, role):
    if role is None:
        return (401,)
    if _RANK[role] < _RANK[min_role]:
        return (403,)
    return ok if isinstance(ok, tuple) else (ok,)


@pytest.mark.parametrize(
    ("method", "path", "min_role", "ok", "ids", "body"), CASES, ids=[f"{c[0]} {c[1]}" for c in CASES]
)
def test_role_matrix(api_as, ctx, method, path, min_role, ok, ids, body):
    for role in (None, VIEWER, OPERATOR, ADMIN):
        user = None if role is None else ctx.users[role.value]
        url = path.format(**{k: f(ctx) for k, f in ids.items()})
        data = body(ctx) if body else None
        fmt = "multipart" if url.endswith("/upload/") else "json"
        call = getattr(api_as(user), method)
        response = call(url, data, format=fmt) if data is not None else call(url)
        expected = _expected(min_role, ok, role)
        assert response.status_code in expected, (role, url, response.status_code, response.content[:300])
        if response.status_code in (401, 403):
            assert response.json()["status"] == response.status_code


@pytest.mark.parametrize(("method", "path", "status", "body"), PUBLIC, ids=[f"{c[0]} {c[1]}" for c in PUBLIC])
def test_public_endpoints(api_as, users, method, path, status, body):
    for role in (None, "viewer", "operator", "admin"):
        api = api_as(None if role is None else users[role])
        response = (
            getattr(api, method)(path, body, format="json")
            if body is not None
            else getattr(api, method)(path)
        )
        assert response.status_code == status, (role, path, response.content[:200])


def test_health_shows_no_secrets(api_as):
    body = api_as(None).get("/api/system/health/").json()
    assert set(body) == {
        "status", "database", "redis", "workers", "cameras_running", "stream_slots", "notifications",
        "checked_in_ms",
    }
    assert set(body["notifications"]) == {"sending", "reason", "detail", "last_sent_at", "last_failed_at"}


def test_the_matrix_covers_every_endpoint():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = {
        (m, p)
        for p, item in schema["paths"].items()
        for m in item
        if m in ("get", "post", "put", "patch", "delete")
    }
    covered = {(c[0], c[1]) for c in CASES} | {(c[0], c[1]) for c in PUBLIC} | ELSEWHERE
    assert operations - covered == set(), "endpoints missing from the role matrix"
    not_described = {("get", "/api/schema/")}  # the schema does not describe itself
    assert covered - operations - ELSEWHERE - not_described == set(), (
        "matrix rows for endpoints that do not exist"
    )
