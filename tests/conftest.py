"""Fixtures shared by the whole suite: users of each role and clients logged in as them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from accounts.roles import Role

VTEST_AVI = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
PASSWORD = "correct-horse-battery-9"


@pytest.fixture
def make_user(db, django_user_model):
    def make(username: str, role: Role | str = Role.VIEWER, **extra):
        return django_user_model.objects.create_user(
            username=username, password=PASSWORD, role=role, email=f"{username}@example.test", **extra
        )

    return make


@pytest.fixture
def admin_user(make_user):
    return make_user("alice_admin", Role.ADMIN, full_name="Alice Admin")


@pytest.fixture
def operator_user(make_user):
    return make_user("oscar_operator", Role.OPERATOR, full_name="Oscar Operator")


@pytest.fixture
def viewer_user(make_user):
    return make_user("victor_viewer", Role.VIEWER, full_name="Victor Viewer")


@pytest.fixture
def users(admin_user, operator_user, viewer_user) -> dict:
    """One user per role, keyed by role name."""
    return {"admin": admin_user, "operator": operator_user, "viewer": viewer_user}


@pytest.fixture
def client_as(client):
    """`client_as(user)` logs the Django test client in as that user (session)."""

    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def api_as():
    """`api_as(user_or_None)`: a DRF APIClient carrying a JWT access token for the user."""
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import RefreshToken

    def make(user=None):
        api = APIClient()
        if user is not None:
            api.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
        return api

    return make


@pytest.fixture(scope="session")
def vtest_avi() -> Path:
    if not VTEST_AVI.exists():
        pytest.skip(f"SKIPPED LOUDLY: {VTEST_AVI} is missing; install Debian's opencv-doc package")
    return VTEST_AVI


@pytest.fixture(scope="session")
def test_model() -> str:
    path = os.environ.get("CROWDSAFE_TEST_MODEL", "")
    if not path or not os.path.exists(path):
        pytest.skip(
            "SKIPPED LOUDLY: no test detector; set CROWDSAFE_TEST_MODEL or put "
            "yolo11n_int8_openvino_model in models/ (see models/README.md)"
        )
    return path
