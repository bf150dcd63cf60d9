"""The admin site is for admins only; health answers without authentication or secrets."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from cameras.models import Camera
from core.runtime_settings import get_runtime_settings, invalidate_cache, update_runtime_settings

TOKEN = "123456:SECRET-TOKEN-abcdefghijklmnop"


def _admin_urls() -> list[str]:
    urls = []
    for model in admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        if info != ("crowdsafe", "runtimesettings"):
            urls.append(reverse(f"admin:{info[0]}_{info[1]}_changelist"))
    return urls


@pytest.fixture
def seeded(db):
    Camera.objects.create(name="Concourse", source_type="rtsp", source="rtsp://user:pw@10.0.0.5/stream")
    invalidate_cache()
    update_runtime_settings({"telegram_bot_token": TOKEN, "telegram_chat_ids": "42"})


def test_every_admin_page_loads_for_an_admin(client_as, admin_user, seeded):
    client = client_as(admin_user)
    for url in _admin_urls():
        response = client.get(url)
        assert response.status_code == 200, url
    camera = Camera.objects.get()
    assert client.get(reverse("admin:cameras_camera_change", args=[camera.pk])).status_code == 200
    assert client.get(reverse("admin:cameras_camera_add")).status_code == 200


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_admin_site_refuses_other_roles(client_as, users, role, seeded):
    client = client_as(users[role])
    for url in [reverse("admin:index"), *_admin_urls()]:
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], url


def test_admin_never_shows_the_telegram_token(client_as, admin_user, seeded):
    client = client_as(admin_user)
    url = reverse("admin:crowdsafe_runtimesettings_change", args=[get_runtime_settings().pk])
    page = client.get(url).content.decode()
    assert "mnop" in page  # the mask shows the last four characters
    assert TOKEN not in page and "SECRET-TOKEN" not in page


def test_admin_keeps_the_token_when_the_field_is_left_empty(client_as, admin_user, seeded):
    client = client_as(admin_user)
    url = reverse("admin:crowdsafe_runtimesettings_change", args=[get_runtime_settings().pk])
    form = client.get(url).context["adminform"].form
    data = {name: form.initial.get(name, "") for name in form.fields}
    data.update(
        {
            "telegram_bot_token": "",
            "alert_cooldown_s": 90,
            "telegram_enabled": "",
            "alerts_enabled": "on",
            "clear_token": "",
        }
    )
    data = {k: v for k, v in data.items() if v is not None and v is not False}
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    invalidate_cache()
    settings = get_runtime_settings()
    assert settings.alert_cooldown_s == 90 and settings.telegram_bot_token == TOKEN


def test_health_is_public_and_reports_the_parts(client, db):
    response = client.get("/api/system/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["redis"] == "ok"
    assert body["cameras_running"] == 0
    assert "SECRET" not in response.content.decode().upper()
