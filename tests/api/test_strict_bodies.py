"""Original clients' camera field names work; every write endpoint refuses unknown fields.

The write endpoints are read from the OpenAPI schema, so one added later is covered too.
"""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

from cameras.models import Camera

pytestmark = pytest.mark.django_db

RTSP = "rtsp://cctv:s3cret-pass@10.0.0.7:554/stream2"
UNKNOWN = "zz_not_a_field"


def _write_operations() -> list[tuple[str, str, list[str]]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = []
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            if method in ("post", "put", "patch"):
                content = list((operation.get("requestBody") or {}).get("content", {}))
                operations.append((method, path, content))
    return operations


WRITE_OPERATIONS = _write_operations()


def test_the_schema_lists_the_write_endpoints_we_expect():
    found = {f"{method.upper()} {path}" for method, path, _ in WRITE_OPERATIONS}
    for expected in (
        "POST /api/cameras/",
        "PATCH /api/cameras/{id}/",
        "POST /api/cameras/{id}/start/",
        "PATCH /api/settings/",
        "POST /api/users/",
        "POST /api/alerts/{id}/acknowledge/",
        "POST /api/auth/login/",
        "POST /api/settings/telegram-test/",
    ):
        assert expected in found
    assert len(found) >= 20


@pytest.fixture
def path_values(admin_user, viewer_user, camera, make_alert) -> dict[str, str]:
    return {
        "/api/cameras/{id}/": str(camera.pk),
        "/api/alerts/{id}/": str(make_alert().pk),
        "/api/users/{id}/": str(viewer_user.pk),
        "{category}": "alerts",
        "{key}": "alert_cooldown_s",
    }


def _concrete(path: str, values: dict[str, str]) -> str:
    for prefix, value in values.items():
        if prefix.startswith("/") and path.startswith(prefix):
            path = path.replace("{id}", value, 1)
    for name in ("{category}", "{key}"):
        path = path.replace(name, values[name])
    assert "{" not in path, path
    return path


@pytest.mark.parametrize(
    "method, path, content", WRITE_OPERATIONS, ids=[f"{m.upper()} {p}" for m, p, _ in WRITE_OPERATIONS]
)
def test_every_write_endpoint_refuses_an_unknown_field(
    api_as, admin_user, path_values, method, path, content
):
    from alerts.models import Alert
    from core.runtime_settings import get_runtime_settings

    before = (Camera.objects.count(), Alert.objects.filter(status="open").count())
    settings_before = get_runtime_settings().alert_cooldown_s
    api = api_as(admin_user)
    url = _concrete(path, path_values)
    multipart_only = content == ["multipart/form-data"]
    body = {UNKNOWN: "1"}
    response = getattr(api, method)(url, body, format="multipart" if multipart_only else "json")
    assert response.status_code == 400, response.content
    answer = response.json()
    assert UNKNOWN in answer["errors"], answer
    assert UNKNOWN in answer["detail"]
    # Nothing was done: no camera, no acknowledgement, no setting changed.
    assert (Camera.objects.count(), Alert.objects.filter(status="open").count()) == before
    assert get_runtime_settings().alert_cooldown_s == settings_before


def test_unknown_fields_are_named_next_to_the_other_errors(api_as, admin_user):
    response = api_as(admin_user).post(
        "/api/cameras/", {"nmae": "Typo", "area": 5, "source_type": "rtsp"}, format="json"
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"name", "nmae", "area"}
    assert "Unknown field; accepted:" in errors["nmae"][0] and "source_url" in errors["nmae"][0]
    assert not Camera.objects.exists()


def test_read_only_settings_fields_are_refused_as_read_only(api_as, admin_user):
    response = api_as(admin_user).patch(
        "/api/settings/", {"alert_cooldown_s": 90, "updated_at": "2026-01-01T00:00:00Z"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"updated_at": ["Read-only; it cannot be set."]}


def test_an_original_client_creates_a_camera_with_its_source(api_as, admin_user):
    """The original product's POST /api/cameras body, field for field."""
    body = {
        "name": "Gate 7",
        "location": "East concourse",
        "source_type": "rtsp",
        "source_url": RTSP,
        "area_sqm": 250.0,
        "expected_capacity": 800,
        "fps_target": 15,
        "resolution": "1920x1080",
    }
    response = api_as(admin_user).post("/api/cameras/", body, format="json")
    assert response.status_code == 201, response.content
    camera = Camera.objects.get(name="Gate 7")
    assert camera.source == RTSP and camera.source_type == "rtsp"
    assert (camera.area_m2, camera.capacity, camera.target_fps) == (250.0, 800, 15.0)
    shown = response.json()
    assert shown["source"] == "rtsp://cctv:***@10.0.0.7:554/stream2"
    assert (shown["area_m2"], shown["capacity"], shown["target_fps"]) == (250.0, 800, 15.0)


def test_an_original_client_without_source_type_gets_the_type_of_its_url(api_as, admin_user):
    body = {"name": "Gate 8", "source_url": "https://cams.example.org/gate8.mjpg"}
    response = api_as(admin_user).post("/api/cameras/", body, format="json")
    assert response.status_code == 201, response.content
    camera = Camera.objects.get(name="Gate 8")
    assert (camera.source_type, camera.source) == ("http", "https://cams.example.org/gate8.mjpg")


def test_an_original_client_updates_with_the_old_names(api_as, admin_user, camera):
    api = api_as(admin_user)
    response = api.put(
        f"/api/cameras/{camera.pk}/",
        {"name": camera.name, "source_url": RTSP, "area_sqm": 80, "expected_capacity": 120, "fps_target": 5},
        format="json",
    )
    assert response.status_code == 200, response.content
    camera.refresh_from_db()
    assert (camera.source, camera.area_m2, camera.capacity, camera.target_fps) == (RTSP, 80.0, 120, 5.0)
    body = {"area_sqm": 90, "resolution": "1280x720"}
    response = api.patch(f"/api/cameras/{camera.pk}/", body, format="json")
    assert response.status_code == 200 and response.json()["area_m2"] == 90.0


def test_an_alias_and_its_new_name_must_agree(api_as, admin_user, camera):
    api = api_as(admin_user)
    clash = api.patch(f"/api/cameras/{camera.pk}/", {"area_sqm": 90, "area_m2": 91}, format="json")
    assert clash.status_code == 400 and "area_sqm" in clash.json()["errors"]
    same = api.patch(f"/api/cameras/{camera.pk}/", {"area_sqm": 92, "area_m2": 92}, format="json")
    assert same.status_code == 200 and same.json()["area_m2"] == 92.0


def test_bad_alias_values_are_400_and_store_nothing(api_as, admin_user):
    api = api_as(admin_user)
    for bad in ({"area_sqm": "wide"}, {"expected_capacity": -3}, {"fps_target": 500}):
        response = api.post("/api/cameras/", {"name": "Bad", "source_url": RTSP, **bad}, format="json")
        assert response.status_code == 400 and set(response.json()["errors"]) == set(bad), response.content
    assert not Camera.objects.filter(name="Bad").exists()
