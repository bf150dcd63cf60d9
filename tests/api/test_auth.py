"""JWT login, refresh, logout (blacklist), me; refresh tokens are not access tokens; throttling."""

from __future__ import annotations

import secrets

import pytest
from rest_framework.test import APIClient

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def login(username: str, password: str = PASSWORD, **extra):
    return APIClient().post(
        "/api/auth/login/", {"username": username, "password": password}, format="json", **extra
    )


def test_login_returns_a_token_pair_and_the_user(operator_user):
    response = login(operator_user.username)
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["username"] == "oscar_operator" and body["user"]["role"] == "operator"
    assert body["access"] == body["access_token"] and body["refresh"] == body["refresh_token"]
    assert body["expires_in"] == 900
    assert "password" not in str(body["user"])
    me = APIClient()
    me.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    assert me.get("/api/auth/me/").json()["username"] == "oscar_operator"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [({"username": "oscar_operator"}, 400, "password"), ({}, 400, "username"), ("notjson", 400, None)],
)
def test_login_with_missing_fields_is_a_400(operator_user, body, status, field):
    response = APIClient().post("/api/auth/login/", body, format="json")
    assert response.status_code == status
    assert response.json()["code"] == "invalid"
    if field:
        assert field in response.json()["errors"]


def test_bad_password_and_inactive_user_are_refused(operator_user, make_user):
    assert login(operator_user.username, "wrong-password-123").status_code == 401
    make_user("ivan_inactive", "admin", is_active=False)
    response = login("ivan_inactive")
    assert response.status_code == 401
    assert response.json()["status"] == 401 and response.json()["detail"]


def test_refresh_gives_a_new_access_token_and_rotates(viewer_user):
    tokens = login(viewer_user.username).json()
    response = APIClient().post("/api/auth/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 200
    assert response.json()["access"] and response.json()["refresh"] != tokens["refresh"]
    # The old refresh token was blacklisted by the rotation.
    again = APIClient().post("/api/auth/refresh/", {"refresh_token": tokens["refresh"]}, format="json")
    assert again.status_code == 401


def test_tokens_cannot_stand_in_for_each_other(viewer_user):
    tokens = login(viewer_user.username).json()
    as_access = APIClient()
    as_access.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['refresh']}")
    assert as_access.get("/api/auth/me/").status_code == 401
    response = APIClient().post("/api/auth/refresh/", {"refresh": tokens["access"]}, format="json")
    assert response.status_code == 401


def test_logout_blacklists_the_refresh_token(viewer_user):
    tokens = login(viewer_user.username).json()
    response = APIClient().post("/api/auth/logout/", {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 200
    refreshed = APIClient().post("/api/auth/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert refreshed.status_code == 401
    bad = APIClient().post("/api/auth/logout/", {"refresh": "garbage"}, format="json")
    assert bad.status_code == 400 and "refresh" in bad.json()["errors"]


def test_a_deactivated_user_loses_access_with_a_valid_token(viewer_user, api_as):
    api = api_as(viewer_user)
    assert api.get("/api/auth/me/").status_code == 200
    viewer_user.is_active = False
    viewer_user.save()
    assert api.get("/api/auth/me/").status_code == 401


def test_me_needs_authentication():
    response = APIClient().get("/api/auth/me/")
    assert response.status_code == 401
    assert response.json() == {
        "status": 401,
        "code": "not_authenticated",
        "detail": "Authentication credentials were not provided.",
    }


def test_login_is_throttled_per_address_and_ignores_forged_headers(operator_user):
    address = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250)}"
    statuses = [
        login(
            operator_user.username,
            "wrong-password-123",
            REMOTE_ADDR=address,
            HTTP_X_FORWARDED_FOR=f"192.0.2.{i}",
        ).status_code
        for i in range(11)
    ]
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429
    limited = login(operator_user.username, REMOTE_ADDR=address)  # even with the right password
    assert limited.status_code == 429 and limited.json()["code"] == "throttled" and limited["Retry-After"]


def test_session_login_works_for_the_browsable_api(client_as, viewer_user):
    client = client_as(viewer_user)
    response = client.get("/api/auth/me/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and b"victor_viewer" in response.content
