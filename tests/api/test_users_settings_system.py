"""Users (last admin protected, no password in any response), settings (token write-only), logs."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from core.models import SystemLog

pytestmark = pytest.mark.django_db


def test_admin_creates_a_user_who_can_log_in(api_as, admin_user):
    response = api_as(admin_user).post(
        "/api/users/",
        {
            "username": "nora_new",
            "password": "Tr0ub4dor&3-long",
            "role": "operator",
            "email": "n@example.test",
        },
        format="json",
    )
    assert response.status_code == 201 and response.json()["role"] == "operator"
    assert "password" not in response.json()
    login = APIClient().post("/api/auth/login/", {"username": "nora_new", "password": "Tr0ub4dor&3-long"})
    assert login.status_code == 200
    assert SystemLog.objects.filter(
        action="user.create", actor=admin_user, object_label="nora_new", message__contains="nora_new"
    ).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "ab", "password": "Tr0ub4dor&3-long"}, "username"),
        ({"username": "weakling", "password": "123"}, "password"),
        ({"username": "alice_admin", "password": "Tr0ub4dor&3-long"}, "username"),
        ({"username": "roley", "password": "Tr0ub4dor&3-long", "role": "root"}, "role"),
        ({"username": "maily", "password": "Tr0ub4dor&3-long", "email": "nope"}, "email"),
    ],
)
def test_bad_users_are_refused_with_the_field(api_as, admin_user, body, field):
    response = api_as(admin_user).post("/api/users/", body, format="json")
    assert response.status_code == 400 and field in response.json()["errors"]


def test_the_last_admin_can_be_neither_demoted_deactivated_nor_deleted(api_as, admin_user, make_user):
    other = make_user("second_admin", "admin")
    api = api_as(other)
    url = f"/api/users/{admin_user.pk}/"
    assert api.delete(url).status_code == 204  # another admin remains
    for attempt in (
        lambda: api.patch(f"/api/users/{other.pk}/", {"role": "viewer"}, format="json"),
        lambda: api.post(f"/api/users/{other.pk}/deactivate/"),
        lambda: api.patch(f"/api/users/{other.pk}/", {"is_active": False}, format="json"),
    ):
        response = attempt()
        assert response.status_code == 400 and "last active admin" in response.json()["detail"]
    assert api.delete(f"/api/users/{other.pk}/").status_code == 400  # own account
    other.refresh_from_db()
    assert other.is_active and other.role == "admin"


def test_password_reset_never_returns_a_password(api_as, admin_user, viewer_user):
    api = api_as(admin_user)
    link = api.post(f"/api/users/{viewer_user.pk}/reset-password/", {}, format="json")
    assert link.status_code == 200
    body = link.json()
    assert set(body) == {"detail", "set_password_link"} and "/reset/" in body["set_password_link"]
    from django.contrib.auth.tokens import default_token_generator

    token = body["set_password_link"].rstrip("/").rsplit("/", 1)[1]
    assert default_token_generator.check_token(viewer_user, token)
    set_now = api.post(
        f"/api/users/{viewer_user.pk}/reset-password/", {"password": "N3w-secret-pass!"}, format="json"
    )
    assert set_now.status_code == 200 and "N3w-secret-pass!" not in json.dumps(set_now.json())
    assert not default_token_generator.check_token(
        viewer_user.__class__.objects.get(pk=viewer_user.pk), token
    )
    weak = api.post(f"/api/users/{viewer_user.pk}/reset-password/", {"password": "password"}, format="json")
    assert weak.status_code == 400 and "password" in weak.json()["errors"]


def test_users_list_is_paginated_and_filterable(api_as, users):
    body = api_as(users["admin"]).get("/api/users/", {"role": "operator"}).json()
    assert body["count"] == 1 and body["results"][0]["username"] == "oscar_operator"
    assert api_as(users["admin"]).get("/api/users/", {"role": "wizard"}).status_code == 400


def test_settings_token_is_write_only(api_as, admin_user):
    api = api_as(admin_user)
    response = api.patch(
        "/api/settings/",
        {"telegram_bot_token": "123456:ABCDEF-secret-token", "telegram_chat_ids": "-1001234, 42"},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert "telegram_bot_token" not in body and body["telegram_bot_token_set"] is True
    assert body["telegram_bot_token_masked"] == "…oken" and "secret" not in json.dumps(body)
    assert "secret" not in json.dumps(api.get("/api/settings/").json())


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"weight_density": 0.9}, "weight_velocity"),
        ({"density_warning": 9}, "density_critical"),
        ({"alert_cooldown_s": "soon"}, "alert_cooldown_s"),
        ({"detector_confidence": 2}, "detector_confidence"),
        ({"telegram_enabled": True}, "telegram_enabled"),
        ({}, "non_field_errors"),
    ],
)
def test_bad_settings_are_refused_and_nothing_changes(api_as, admin_user, body, field):
    from core.models import RuntimeSettings

    api = api_as(admin_user)
    before = api.get("/api/settings/").json()
    response = api.patch("/api/settings/", body, format="json")
    assert response.status_code == 400 and field in response.json()["errors"], response.json()
    assert api.get("/api/settings/").json() == before
    assert RuntimeSettings.objects.get(pk=1).alert_cooldown_s == before["alert_cooldown_s"]


def test_settings_change_reaches_the_runtime(api_as, admin_user):
    from core.runtime_settings import get_runtime_settings, invalidate_cache

    response = api_as(admin_user).patch("/api/settings/", {"alert_cooldown_s": 300}, format="json")
    assert response.status_code == 200 and response.json()["updated_by"] == "alice_admin"
    invalidate_cache()
    assert get_runtime_settings().alert_cooldown_s == 300


def test_logs_filter_by_level_component_and_text(api_as, admin_user):
    SystemLog.objects.create(level="ERROR", component="cameras.runner", message="Camera 3 lost its stream")
    SystemLog.objects.create(level="WARNING", component="alerts.telegram", message="Telegram refused")
    SystemLog.objects.create(level="INFO", component="accounts", message="User created")
    api = api_as(admin_user)
    assert [
        r["component"] for r in api.get("/api/system/logs/", {"min_level": "WARNING"}).json()["results"]
    ] == ["alerts.telegram", "cameras.runner"]
    assert api.get("/api/system/logs/", {"component": "cameras"}).json()["count"] == 1
    assert api.get("/api/system/logs/", {"search": "telegram"}).json()["count"] == 1
    assert api.get("/api/system/logs/", {"level": ["ERROR", "INFO"]}).json()["count"] == 2
    assert api.get("/api/system/logs/", {"level": "LOUD"}).status_code == 400
    assert api.get("/api/system/logs/", {"start": "not-a-date"}).status_code == 400


def test_stats(api_as, viewer_user, camera, make_alert):
    make_alert()
    make_alert(status="resolved")
    body = api_as(viewer_user).get("/api/system/stats/").json()
    assert body["cameras_total"] == 1 and body["alerts_total"] == 2
    assert body["alerts_unacknowledged"] == 1 and body["alerts_unresolved"] == 1


def test_every_setting_is_in_exactly_one_category():
    from crowdsafe.api.settings_views import CATEGORIES, EDITABLE

    listed = [key for keys in CATEGORIES.values() for key in keys]
    assert sorted(listed) == sorted([*EDITABLE, "telegram_bot_token"])


def test_settings_by_category_as_the_original_clients_use_them(api_as, admin_user):
    from core.runtime_settings import get_runtime_settings, invalidate_cache

    api = api_as(admin_user)
    risk = api.get("/api/settings/risk/").json()
    assert risk["density_warning"] == 4.0 and "alert_cooldown_s" not in risk
    alerts = api.get("/api/settings/alerts/").json()
    assert alerts["telegram_bot_token_set"] is False and "telegram_bot_token" not in alerts
    assert set(api.get("/api/settings/ai/").json()) == {"detector_confidence", "detector_iou"}
    # One key at a time, by its new or its original name.
    response = api.put("/api/settings/alerts/cooldown_seconds/", {"value": 90}, format="json")
    assert response.status_code == 200 and response.json()["alert_cooldown_s"] == 90
    token = {"value": "42:secret-token"}
    response = api.put("/api/settings/alerts/telegram_bot_token/", token, format="json")
    assert response.status_code == 200 and "secret" not in json.dumps(response.json())
    assert response.json()["telegram_bot_token_set"] is True
    # Several risk settings together, checked together.
    response = api.post(
        "/api/settings/risk-thresholds/",
        {"density_warning": 3.5, "density_critical": 5.5, "velocity_stagnant": 0.3},
        format="json",
    )
    assert response.status_code == 200, response.json()
    invalidate_cache()
    current = get_runtime_settings()
    assert (current.density_warning, current.density_critical, current.stagnant_speed) == (3.5, 5.5, 0.3)
    assert current.alert_cooldown_s == 90 and current.telegram_bot_token == "42:secret-token"


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "where"),
    [
        ("get", "/api/settings/general/", None, 404, None),
        ("put", "/api/settings/risk/alert_cooldown_s/", {"value": 90}, 404, None),
        ("put", "/api/settings/risk/no_such_key/", {"value": 1}, 404, None),
        ("put", "/api/settings/alerts/alert_cooldown_s/", {}, 400, "value"),
        ("put", "/api/settings/alerts/alert_cooldown_s/", {"value": "soon"}, 400, "alert_cooldown_s"),
        ("put", "/api/settings/risk/density_warning/", {"value": 9}, 400, "density_critical"),
        ("post", "/api/settings/risk-thresholds/", {"density_warning": 3, "theme": "dark"}, 400, "theme"),
        ("post", "/api/settings/risk-thresholds/", {"weight_density": 0.9}, 400, "weight_velocity"),
        ("post", "/api/settings/risk-thresholds/", [1, 2], 400, "non_field_errors"),
        ("post", "/api/settings/risk-thresholds/", {}, 400, "non_field_errors"),
    ],
)
def test_bad_category_requests_are_refused_and_nothing_changes(
    api_as, admin_user, method, path, body, status, where
):
    api = api_as(admin_user)
    before = api.get("/api/settings/").json()
    call = getattr(api, method)
    response = call(path, body, format="json") if body is not None else call(path)
    assert response.status_code == status, response.content
    if where:
        assert where in response.json()["errors"], response.json()
    assert api.get("/api/settings/").json() == before
