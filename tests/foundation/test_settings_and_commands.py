"""Deployment settings, migrations, the create_admin command and the system log."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from core.models import SystemLog

ROOT = Path(__file__).resolve().parents[2]
PROD_SECRET = "s3cr3t-" + "k" * 60


_NOT_INHERITED = ("SECRET_KEY", "DEBUG", "SECURE_SSL_REDIRECT", "DJANGO_ALLOW_ASYNC_UNSAFE")


def _run_manage(env_overrides: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
    env.update({"CROWDSAFE_ENV_FILE": "/nonexistent", **env_overrides})
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    "secret, message",
    [
        (None, "SECRET_KEY must be set"),
        ("django-insecure-crowdsafe-development-only", "SECRET_KEY must be set"),
        ("short", "at least 50 characters"),
    ],
)
def test_production_refuses_to_start_without_a_real_secret(secret, message):
    env = {"DEBUG": "false"}
    if secret is not None:
        env["SECRET_KEY"] = secret
    result = _run_manage(env, "check")
    assert result.returncode != 0
    assert message in result.stderr


def test_check_deploy_is_clean_with_production_settings():
    result = _run_manage(
        {
            "DEBUG": "false",
            "SECRET_KEY": PROD_SECRET,
            "ALLOWED_HOSTS": "crowdsafe.example.org",
            "CSRF_TRUSTED_ORIGINS": "https://crowdsafe.example.org",
            "CROWDSAFE_MEDIA_ACCEL_PREFIX": "/protected-media/",  # behind nginx, as compose runs it
        },
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "env, message",
    [
        ({"CROWDSAFE_CAMERA_HEARTBEAT_S": "10"}, "at most half of CROWDSAFE_CAMERA_LEASE_TTL_S"),
        ({"CROWDSAFE_LIVE_PUSH_HZ": "0"}, "CROWDSAFE_LIVE_PUSH_HZ=0.0 is outside"),
        ({"CROWDSAFE_RECONNECT_MAX_S": "fast"}, "could not convert string to float"),
        ({"CROWDSAFE_MEDIA_ACCEL_PREFIX": "protected"}, "must start and end with '/'"),
        ({"CROWDSAFE_EVENT_CLIP_POST_S": "0"}, "CROWDSAFE_EVENT_CLIP_POST_S=0.0 is outside 1..120"),
        ({"CROWDSAFE_EVENT_CLIP_PRE_S": "600"}, "CROWDSAFE_EVENT_CLIP_PRE_S=600.0 is outside 0..60"),
        ({"CROWDSAFE_PUBLIC_URL": "crowdsafe.example.org"}, "CROWDSAFE_PUBLIC_URL must be an absolute"),
    ],
)
def test_settings_reject_bad_runtime_tunables(env, message):
    result = _run_manage({"DEBUG": "true", **env}, "check")
    assert result.returncode != 0 and message in result.stderr, result.stderr[-2000:]


def test_production_warns_when_django_serves_the_recordings():
    env = {"DEBUG": "false", "SECRET_KEY": PROD_SECRET, "ALLOWED_HOSTS": "crowdsafe.example.org"}
    result = _run_manage(env, "check")
    assert "core.W001" in result.stderr + result.stdout


def test_settings_reject_out_of_range_detector_values():
    result = _run_manage({"DEBUG": "true", "CROWDSAFE_DETECTOR_CONF": "3"}, "check")
    assert result.returncode != 0
    assert "CROWDSAFE_DETECTOR_CONF=3.0 is outside" in result.stderr


def test_migrations_are_complete(db):
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_create_admin_with_arguments(db, django_user_model):
    call_command(
        "create_admin", "--username", "ops", "--password", "a-Long-unusual-pass-42", stdout=StringIO()
    )
    user = django_user_model.objects.get(username="ops")
    assert user.role == "admin" and user.is_staff and user.check_password("a-Long-unusual-pass-42")


def test_create_admin_from_the_environment(db, django_user_model, monkeypatch):
    monkeypatch.setenv("CROWDSAFE_ADMIN_USERNAME", "envadmin")
    monkeypatch.setenv("CROWDSAFE_ADMIN_PASSWORD", "env-Provided-pass-77")
    call_command("create_admin", stdout=StringIO())
    assert django_user_model.objects.get(username="envadmin").check_password("env-Provided-pass-77")


def test_create_admin_generates_and_prints_a_password_once(db, django_user_model):
    out = StringIO()
    call_command("create_admin", "--username", "gen", "--generate-password", stdout=out)
    password = out.getvalue().split("(shown once): ")[1].strip()
    assert len(password) >= 12
    assert django_user_model.objects.get(username="gen").check_password(password)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--username", "x1"], "Give --password"),
        (["--username", "x2", "--password", "123"], "too short"),
        (["--username", "bad name!", "--password", "a-Long-unusual-pass-42"], "valid username"),
    ],
)
def test_create_admin_refuses_bad_input(db, monkeypatch, args, message):
    monkeypatch.delenv("CROWDSAFE_ADMIN_PASSWORD", raising=False)
    with pytest.raises(CommandError, match=message):
        call_command("create_admin", *args, stdout=StringIO())


def test_create_admin_twice(db):
    call_command(
        "create_admin", "--username", "twice", "--password", "a-Long-unusual-pass-42", stdout=StringIO()
    )
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_admin", "--username", "twice", "--password", "a-Long-unusual-pass-42")
    out = StringIO()
    call_command("create_admin", "--username", "twice", "--generate-password", "--if-missing", stdout=out)
    assert "nothing to do" in out.getvalue()


def test_platform_warnings_land_in_the_system_log(db):
    logging.getLogger("cameras.runner").warning("source lost: %s", "Gate A", extra={"details": {"camera": 3}})
    logging.getLogger("cameras.runtime.runner").info("not stored: below WARNING")
    log = SystemLog.objects.get()
    assert (log.level, log.component, log.message) == ("WARNING", "cameras.runner", "source lost: Gate A")
    assert log.details["camera"] == 3
