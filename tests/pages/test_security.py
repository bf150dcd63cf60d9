"""Closed doors on the pages and the admin site (issue #12, points 1-4, 8, 9, 11-13)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.cache import cache
from django.urls import reverse

from accounts.roles import Role, has_role
from core.models import SystemLog

PASSWORD = "correct-horse-battery-9"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _no_login_failures():
    cache.delete("login-form-failures:127.0.0.1")
    yield
    cache.delete("login-form-failures:127.0.0.1")


# --- 1: form logins are throttled ----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_form_login_is_throttled_after_ten_failures(client, users, path):
    for attempt in range(10):
        response = client.post(path, {"username": "alice_admin", "password": f"wrong-{attempt}"})
        assert response.status_code == 200, attempt
    refused = client.post(path, {"username": "alice_admin", "password": PASSWORD})
    assert refused.status_code == 429
    assert "Too many failed sign-ins" in refused.content.decode() and int(refused["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session  # the right password did not get in meanwhile


def test_successful_form_logins_are_not_counted(client, users):
    for _ in range(12):
        response = client.post("/login/", {"username": "victor_viewer", "password": PASSWORD})
        assert response.status_code == 302
        client.logout()


# --- 3: credentials in a source's query string are masked on the pages ---------------------------


def test_pages_mask_credentials_in_the_query_string(client_as, users, camera):
    camera.source = "rtsp://10.0.0.9:554/live?user=admin&pwd=Hunter2-secret&channel=1&token=tok-XYZ"
    camera.save()
    viewer = client_as(users["viewer"])
    for url in (reverse("cameras"), reverse("camera_detail", args=[camera.pk])):
        page = viewer.get(url).content.decode()
        assert "Hunter2" not in page and "tok-XYZ" not in page and "channel=1" in page, url
    admin = client_as(users["admin"])
    edit = admin.get(reverse("camera_edit", args=[camera.pk])).content.decode()
    assert "Hunter2" not in edit and "tok-XYZ" not in edit


# --- 4: the admin site keeps the rules of the pages ------------------------------------------------


def _change_form_data(client, url: str) -> dict:
    form = client.get(url).context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is None or value is False:
            continue
        data[name] = "on" if value is True else value
    return data


def test_admin_site_cannot_make_a_hidden_superuser(client_as, users):
    client = client_as(users["admin"])
    viewer = users["viewer"]
    url = reverse("admin:accounts_user_change", args=[viewer.pk])
    data = _change_form_data(client, url)
    data["is_superuser"] = "on"
    response = client.post(url, data)
    assert response.status_code == 302
    viewer.refresh_from_db()
    assert not viewer.is_superuser and viewer.role == Role.VIEWER and not has_role(viewer, Role.ADMIN)
    viewer.is_superuser = True  # any other route: a superuser is shown as what it is, an admin
    viewer.save()
    viewer.refresh_from_db()
    assert viewer.role == Role.ADMIN


def test_admin_site_keeps_the_last_admin_and_audits(client_as, users):
    admin = users["admin"]
    client = client_as(admin)
    url = reverse("admin:accounts_user_change", args=[admin.pk])
    data = _change_form_data(client, url)
    data["role"] = Role.VIEWER
    response = client.post(url, data)
    assert response.status_code == 200 and "last active admin" in response.content.decode()
    admin.refresh_from_db()
    assert admin.role == Role.ADMIN
    assert client.get(reverse("admin:accounts_user_delete", args=[admin.pk])).status_code == 403
    operator = users["operator"]
    data = _change_form_data(client, reverse("admin:accounts_user_change", args=[operator.pk]))
    data["full_name"] = "Oscar Renamed"
    assert client.post(reverse("admin:accounts_user_change", args=[operator.pk]), data).status_code == 302
    assert SystemLog.objects.filter(
        action="user.update", actor=admin, object_id=str(operator.pk), details__fields=["full_name"]
    ).count() == 1
    response = client.post(reverse("admin:accounts_user_delete", args=[operator.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert SystemLog.objects.filter(
        action="user.delete", actor=admin, object_label="oscar_operator", message__contains="deleted"
    ).count() == 1


def test_admin_camera_form_never_shows_the_password(client_as, users, camera):
    client = client_as(users["admin"])
    url = reverse("admin:cameras_camera_change", args=[camera.pk])
    page = client.get(url).content.decode()
    assert "s3cret-pw" not in page
    data = _change_form_data(client, url)
    data.update({f"{p}-{k}": v for p in ("zones", "lines", "exclusions") for k, v in
                 (("TOTAL_FORMS", 0), ("INITIAL_FORMS", 0), ("MIN_NUM_FORMS", 0), ("MAX_NUM_FORMS", 1000))})
    data["location"] = "Gate 4"
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    camera.refresh_from_db()
    assert camera.location == "Gate 4" and camera.source == "rtsp://cam:s3cret-pw@10.0.0.5:554/stream1"


def test_admin_token_pages_never_show_a_refresh_token(client_as, users, api_as):
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
    from rest_framework_simplejwt.tokens import RefreshToken

    refresh = str(RefreshToken.for_user(users["viewer"]))
    outstanding = OutstandingToken.objects.get(token=refresh)
    client = client_as(users["admin"])
    for url in (
        reverse("admin:token_blacklist_outstandingtoken_changelist"),
        reverse("admin:token_blacklist_outstandingtoken_change", args=[outstanding.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200 and refresh not in response.content.decode(), url
        assert refresh.split(".")[1] not in response.content.decode()


# --- 8: bodies -------------------------------------------------------------------------------------


def test_oversize_page_post_gets_413_before_anything_reads_it(client_as, users, camera, settings):
    client = client_as(users["admin"])
    response = client.generic(
        "POST", reverse("settings"), b"x" * 100, content_type="application/x-www-form-urlencoded",
        CONTENT_LENGTH=str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1),
    )
    assert response.status_code == 413 and "too large" in response.content.decode()
    upload = client.generic(
        "POST", reverse("camera_upload", args=[camera.pk]), b"x",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str((settings.CROWDSAFE_MAX_UPLOAD_MB + 2) * 1024 * 1024),
    )
    assert upload.status_code == 413
    assert f"at most {settings.CROWDSAFE_MAX_UPLOAD_MB} MB" in upload.content.decode()


def test_anonymous_multipart_posts_are_refused_unparsed(client, camera):
    body = b"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--x--\r\n"
    for path in (reverse("camera_upload", args=[camera.pk]), reverse("dashboard"), "/api/cameras/"):
        response = client.generic("POST", path, body, content_type="multipart/form-data; boundary=x")
        assert response.status_code in (302, 401), path  # pages: to the login page; API: 401
        assert "csrftoken" not in response.cookies  # CSRF never looked at (parsed) the body


# --- 9: redirects and odd numbers ---------------------------------------------------------------


def test_next_with_a_backslash_is_not_followed(client_as, users, make_alert):
    alert = make_alert()
    response = client_as(users["operator"]).post(
        reverse("alert_acknowledge", args=[alert.pk]), {"note": "", "next": "/\\evil.com"}
    )
    assert response.status_code == 302 and response["Location"] == reverse("alerts")


@pytest.mark.parametrize(
    "url",
    ["/dashboard/alerts/?camera=²", "/recordings/?play=²", "/analytics/?camera=²", "/analytics/?zone=²"],
)
def test_unicode_digits_are_not_ids(client_as, users, camera, url):
    response = client_as(users["operator"]).get(url)
    assert response.status_code in (200, 400), (url, response.status_code)


def test_a_huge_range_header_is_ignored(client_as, users, camera, media):
    from tests.pages.test_access import _recording

    rec = _recording(camera, media)
    response = client_as(users["operator"]).get(
        reverse("recording_file", args=[rec]), HTTP_RANGE="bytes=" + "9" * 4300 + "-"
    )
    assert response.status_code == 200 and b"ftypmp42" in b"".join(response.streaming_content)


# --- 12: operators analyse footage, they do not replace a live source --------------------------------


def test_operator_upload_cannot_replace_an_rtsp_source(client_as, users, camera, media):
    from django.core.files.uploadedfile import SimpleUploadedFile

    source = camera.source
    client = client_as(users["operator"])
    page = client.get(reverse("camera_detail", args=[camera.pk])).content.decode()
    assert reverse("camera_upload", args=[camera.pk]) not in page
    video = SimpleUploadedFile("clip.avi", b"RIFF" + b"0" * 100, content_type="video/x-msvideo")
    response = client.post(reverse("camera_upload", args=[camera.pk]), {"video": video})
    assert response.status_code == 403 and "only an admin" in response.content.decode()
    camera.refresh_from_db()
    assert (camera.source_type, camera.source) == ("rtsp", source)


# --- 13: calibration rows are not built from HTML strings --------------------------------------------


def test_page_scripts_never_build_html_from_strings():
    for script in (ROOT / "static" / "js").glob("*.js"):
        text = script.read_text()
        for sink in (".innerHTML", ".outerHTML =", "insertAdjacentHTML(", "document.write("):
            assert sink not in text, f"{script.name} uses {sink}"
