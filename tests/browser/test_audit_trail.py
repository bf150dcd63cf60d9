"""Issue #14 item 8 in a real browser: a failed and a good sign-in through the login form land
in the audit trail, and an admin narrows the Logs page down by kind, user and camera."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from cameras.models import Camera
from cameras.services import stop_camera
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.timeout(300)]


def _rows(page):
    return page.locator("tbody tr[data-log-id]")


def test_sign_ins_and_a_camera_stop_filtered_on_the_logs_page(page, users):
    admin, operator = users["admin"], users["operator"]
    camera = Camera.objects.create(name="Main Gate", source_type="rtsp", source="rtsp://10.0.0.9/s")
    Camera.objects.create(name="South Gate", source_type="rtsp", source="rtsp://10.0.0.8/s")
    stop_camera(camera, user=operator)  # no runner to queue

    page.goto("/login/")
    page.fill("#id_username", admin.username)
    page.fill("#id_password", "not-the-Password-1")
    page.click("button[type=submit]")
    expect(page.locator("#id_password")).to_be_visible()  # refused: the form again
    page.fill("#id_username", admin.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/")

    page.goto("/logs/")
    page.select_option("#id_kind", "auth")
    page.get_by_role("button", name="Filter").click()
    rows = _rows(page)
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("auth.login")
    expect(rows.nth(0)).to_contain_text("alice_admin")
    expect(rows.nth(1)).to_contain_text("auth.login_failed")
    expect(page.locator("tbody")).not_to_contain_text("not-the-Password-1")

    page.select_option("#id_kind", "camera")
    page.select_option("#id_camera", label="Main Gate")
    page.select_option("#id_user", label=operator.username)
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("camera.stop")
    expect(rows.first).to_contain_text(f"camera {camera.pk} “Main Gate”")
    expect(rows.first).to_contain_text(operator.username)

    page.select_option("#id_camera", label="South Gate")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tbody")).to_contain_text("No log entries.")
