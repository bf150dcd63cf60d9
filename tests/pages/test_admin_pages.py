"""Settings (token write-only), users and the system log."""

from __future__ import annotations

from django.urls import reverse

from core.models import RuntimeSettings, SystemLog
from core.runtime_settings import get_runtime_settings, invalidate_cache


def _settings_post(**changes) -> dict:
    from core.forms import EDITABLE

    invalidate_cache()
    current = get_runtime_settings()
    data = {name: getattr(current, name) for name in EDITABLE}
    data.update(changes)
    return {k: ("on" if v is True else "" if v is False else v) for k, v in data.items() if v is not False}


def test_settings_validation_error_saves_nothing(client_as, users):
    client = client_as(users["admin"])
    response = client.post(reverse("settings"), _settings_post(weight_density=0.9))
    assert response.status_code == 400
    assert "add up to 1" in response.content.decode()
    invalidate_cache()
    assert get_runtime_settings().weight_density == 0.4


def test_settings_save_and_token_is_write_only(client_as, users):
    client = client_as(users["admin"])
    token = "123456:SECRET-token-value-xyz"
    response = client.post(
        reverse("settings"),
        _settings_post(density_warning=3.5, telegram_bot_token=token, telegram_chat_ids="-100123"),
    )
    assert response.status_code == 302
    stored = RuntimeSettings.objects.get(pk=1)
    assert stored.density_warning == 3.5 and stored.telegram_bot_token == token
    page = client.get(reverse("settings")).content.decode()
    assert token not in page and "SECRET" not in page and "…-xyz" in page
    # A blank token field keeps the stored token.
    client.post(reverse("settings"), _settings_post(density_warning=3.6, telegram_chat_ids="-100123"))
    stored.refresh_from_db()
    assert stored.telegram_bot_token == token and stored.density_warning == 3.6
    client.post(reverse("settings"), _settings_post(clear_telegram_bot_token=True, telegram_chat_ids=""))
    stored.refresh_from_db()
    assert stored.telegram_bot_token == ""


def test_telegram_test_without_configuration_reports_failure(client_as, users):
    response = client_as(users["admin"]).post(reverse("telegram_test"))
    assert response.status_code == 200 and "result-fail" in response.content.decode()


def test_users_create_edit_password(client_as, users, django_user_model):
    client = client_as(users["admin"])
    weak = client.post(
        reverse("user_add"),
        {"username": "newbie", "role": "viewer", "password": "123", "password_again": "123"},
    )
    assert weak.status_code == 400 and b"errorlist" in weak.content
    assert not django_user_model.objects.filter(username="newbie").exists()
    good = client.post(
        reverse("user_add"),
        {
            "username": "newbie",
            "role": "operator",
            "password": "a-long-unusual-pass-42",
            "password_again": "a-long-unusual-pass-42",
        },
    )
    assert good.status_code == 302
    newbie = django_user_model.objects.get(username="newbie")
    assert newbie.role == "operator" and newbie.check_password("a-long-unusual-pass-42")
    edit = client.post(
        reverse("user_edit", args=[newbie.pk]),
        {"full_name": "New Bie", "email": "", "phone": "", "role": "viewer", "is_active": "on"},
    )
    assert edit.status_code == 302
    newbie.refresh_from_db()
    assert newbie.role == "viewer" and newbie.full_name == "New Bie"
    pw = client.post(
        reverse("user_edit", args=[newbie.pk]), {"action": "password", "password": "another-long-pass-77"}
    )
    assert pw.status_code == 302
    newbie.refresh_from_db()
    assert newbie.check_password("another-long-pass-77")
    listing = client.get(reverse("users")).content.decode()
    assert "newbie" in listing and "another-long-pass-77" not in listing and "pbkdf2" not in listing


def test_last_admin_cannot_demote_themselves(client_as, users):
    admin = users["admin"]
    response = client_as(admin).post(
        reverse("user_edit", args=[admin.pk]),
        {"full_name": "", "email": admin.email, "phone": "", "role": "viewer", "is_active": "on"},
    )
    assert response.status_code == 400 and b"last active admin" in response.content
    admin.refresh_from_db()
    assert admin.role == "admin"


def test_logs_page_lists_and_filters(client_as, users):
    SystemLog.objects.create(level="ERROR", component="cameras.runner", message="camera 7 lost its stream")
    SystemLog.objects.create(level="WARNING", component="alerts", message="telegram timed out")
    client = client_as(users["admin"])
    page = client.get(reverse("logs")).content.decode()
    assert "camera 7 lost its stream" in page and "telegram timed out" in page
    only = client.get(reverse("logs"), {"level": "ERROR"}).content.decode()
    assert "camera 7 lost" in only and "telegram timed out" not in only
    assert client.get(reverse("logs"), {"level": "NOPE"}).status_code == 400
