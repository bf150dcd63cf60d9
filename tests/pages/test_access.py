"""Every page checks its role: anonymous users go to the login page, lower roles get 403."""

from __future__ import annotations

import pytest
from django.urls import reverse

VIEWER_PAGES = ["dashboard", "cameras", "analytics", "alerts", "recordings"]
ADMIN_PAGES = ["settings", "users", "logs", "camera_add"]


@pytest.mark.django_db
@pytest.mark.parametrize("name", VIEWER_PAGES + ADMIN_PAGES)
def test_anonymous_is_sent_to_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


@pytest.mark.parametrize("name", VIEWER_PAGES)
def test_viewer_sees_viewer_pages(client_as, users, camera, name):
    response = client_as(users["viewer"]).get(reverse(name))
    assert response.status_code == 200
    assert b'ws-connect="/ws/dashboard/"' in response.content


@pytest.mark.parametrize("role", ["viewer", "operator"])
@pytest.mark.parametrize("name", ADMIN_PAGES)
def test_admin_pages_refused_below_admin(client_as, users, role, name):
    assert client_as(users[role]).get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", ADMIN_PAGES)
def test_admin_sees_admin_pages(client_as, users, name):
    assert client_as(users["admin"]).get(reverse(name)).status_code == 200


@pytest.mark.parametrize("name", ["camera_edit", "camera_zones", "camera_delete"])
def test_camera_admin_pages_refused_to_operator(client_as, users, camera, name):
    assert client_as(users["operator"]).get(reverse(name, args=[camera.pk])).status_code == 403


def test_viewer_sidebar_and_buttons(client_as, users, camera):
    page = client_as(users["viewer"]).get(reverse("cameras")).content.decode()
    hidden_parts = ("/settings/", "/users/", "/logs/", "/start/", "/stop/", "/edit/", "/delete/", "Add cam")
    for hidden in hidden_parts:
        assert hidden not in page
    detail = client_as(users["viewer"]).get(reverse("camera_detail", args=[camera.pk])).content.decode()
    assert "/stop/" not in detail and "/start/" not in detail
    assert f'ws-connect="/ws/cameras/{camera.pk}/"' in detail


def test_operator_sees_stop_but_not_admin_links(client_as, users, camera):
    page = client_as(users["operator"]).get(reverse("cameras")).content.decode()
    assert reverse("camera_stop", args=[camera.pk]) in page
    assert "/settings/" not in page and reverse("camera_delete", args=[camera.pk]) not in page


@pytest.mark.parametrize("name", ["camera_start", "camera_stop"])
def test_viewer_cannot_post_start_stop(client_as, users, camera, name):
    response = client_as(users["viewer"]).post(reverse(name, args=[camera.pk]))
    assert response.status_code == 403
    camera.refresh_from_db()
    assert camera.desired_state == "running"


def test_viewer_cannot_post_admin_actions(client_as, users, camera, make_alert):
    client = client_as(users["viewer"])
    alert = make_alert()
    assert client.post(reverse("camera_delete", args=[camera.pk])).status_code == 403
    assert client.post(reverse("alert_acknowledge", args=[alert.pk])).status_code == 403
    assert client.post(reverse("settings"), {"weight_density": 1}).status_code == 403
    probe = client.post(reverse("camera_test_connection"), {"source_type": "usb", "source": "0"})
    assert probe.status_code == 403
    camera.refresh_from_db()
    alert.refresh_from_db()
    assert alert.status == "open"


def test_wrong_method_is_refused(client_as, users, camera):
    client = client_as(users["admin"])
    assert client.get(reverse("camera_start", args=[camera.pk])).status_code == 405
    assert client.post(reverse("dashboard")).status_code == 405


def test_login_page_and_sign_in(client, users):
    page = client.get(reverse("login"))
    assert page.status_code == 200 and b'for="id_username"' in page.content
    bad = client.post(reverse("login"), {"username": "victor_viewer", "password": "wrong"})
    assert bad.status_code == 200 and b"errorlist" in bad.content
    good = client.post(reverse("login"), {"username": "victor_viewer", "password": "correct-horse-battery-9"})
    assert good.status_code == 302 and good["Location"] == reverse("dashboard")


# --- the role matrix of the pages: every page x every role (and anonymous) -----------------------

ANON, VIEW, OPER, ADMN = None, "viewer", "operator", "admin"
_RANK = {VIEW: 1, OPER: 2, ADMN: 3}


def _recording(camera, media) -> int:
    from django.core.files.base import ContentFile
    from django.utils import timezone

    from cameras.models import Recording

    rec = Recording(camera=camera, started_at=timezone.now())
    rec.file.save("matrix.mp4", ContentFile(b"\x00\x00\x00\x18ftypmp42" + b"0" * 64))
    return rec.pk


# (method, url from the fixtures, minimum role, status for an allowed role)
PAGE_CASES = [
    ("get", lambda f: reverse("dashboard"), VIEW, 200),
    ("get", lambda f: reverse("dashboard_grid"), VIEW, 200),
    ("get", lambda f: reverse("dashboard_alerts"), VIEW, 200),
    ("get", lambda f: reverse("cameras"), VIEW, 200),
    ("get", lambda f: reverse("camera_detail", args=[f["camera"].pk]), VIEW, 200),
    ("get", lambda f: reverse("camera_add"), ADMN, 200),
    ("get", lambda f: reverse("camera_edit", args=[f["camera"].pk]), ADMN, 200),
    ("get", lambda f: reverse("camera_zones", args=[f["camera"].pk]), ADMN, 200),
    ("get", lambda f: reverse("camera_raw_still", args=[f["camera"].pk]), ADMN, 204),  # stopped: no still
    ("get", lambda f: reverse("camera_delete", args=[f["camera"].pk]), ADMN, 200),
    ("post", lambda f: reverse("camera_stop", args=[f["camera"].pk]), OPER, 302),
    ("get", lambda f: reverse("recordings"), VIEW, 200),
    ("get", lambda f: reverse("recording_file", args=[f["recording"]]), OPER, 200),
    ("get", lambda f: reverse("analytics"), VIEW, 200),
    ("get", lambda f: reverse("analytics_export") + "?format=csv&preset=1h", OPER, 200),
    ("get", lambda f: reverse("alerts"), VIEW, 200),
    ("get", lambda f: reverse("alert_detail", args=[f["alert"]().pk]), VIEW, 200),
    ("get", lambda f: reverse("camera_events", args=[f["camera"].pk]), VIEW, 200),
    ("post", lambda f: reverse("alert_acknowledge", args=[f["alert"]().pk]), OPER, 302),
    ("get", lambda f: reverse("settings"), ADMN, 200),
    ("get", lambda f: reverse("users"), ADMN, 200),
    ("get", lambda f: reverse("user_edit", args=[f["users"]["viewer"].pk]), ADMN, 200),
    ("get", lambda f: reverse("logs"), ADMN, 200),
]


@pytest.mark.parametrize(("method", "url", "minimum", "ok"), PAGE_CASES, ids=[f"{c[0]}-{i}" for i, c in
                                                                              enumerate(PAGE_CASES)])
def test_page_role_matrix(client, users, camera, make_alert, media, method, url, minimum, ok):
    fixtures = {"camera": camera, "alert": make_alert, "users": users, "recording": _recording(camera, media)}
    for role in (ANON, VIEW, OPER, ADMN):
        client.logout()
        if role is not None:
            client.force_login(users[role])
        target = url(fixtures)
        response = getattr(client, method)(target)
        if role is None:
            assert response.status_code == 302 and response["Location"].startswith("/login/?next="), target
        elif _RANK[role] < _RANK[minimum]:
            assert response.status_code == 403, (role, target, response.status_code)
        else:
            assert response.status_code == ok, (role, target, response.status_code)


def test_viewer_sees_no_export_or_playback_links(client_as, users, camera, media, seeded_metrics):
    rec = _recording(camera, media)
    client = client_as(users["viewer"])
    analytics = client.get(reverse("analytics"), {"camera": camera.pk, "preset": "24h"}).content.decode()
    assert reverse("analytics_export") not in analytics
    for page in (reverse("recordings") + f"?play={rec}", reverse("camera_detail", args=[camera.pk])):
        assert reverse("recording_file", args=[rec]) not in client.get(page).content.decode(), page
    operator = client_as(users["operator"])
    analytics = operator.get(reverse("analytics"), {"camera": camera.pk, "preset": "24h"}).content.decode()
    assert reverse("analytics_export") in analytics
