"""Reviewing an event: the alert's snapshot and clip in the API (role-checked media), the alert
page, the camera's timeline, the list's thumbnails, and the Telegram message's link."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from alerts.hooks import on_frame
from alerts.models import Alert
from alerts.services import attach_clip
from alerts.tasks import send_alert_notification
from analytics.engine import open_video_writer
from tests.alerts.frames import feed


@pytest.fixture
def reviewed(camera) -> Alert:
    """A raised alert (real snapshot) with a real 2 s H.264 clip attached."""
    feed(on_frame, camera, 0, 3, density=4.5, risk_level="CAUTION")
    alert = Alert.objects.get()
    folder = Path(django_settings.MEDIA_ROOT) / "clips" / str(camera.pk)
    writer, path, codec = open_video_writer(folder / "review", 10, (320, 180))
    for i in range(20):
        writer.write(np.full((180, 320, 3), i * 10, np.uint8))
    writer.release()
    assert codec == "h264"
    attach_clip((alert.pk,), f"clips/{camera.pk}/{path.name}", start_s=0.0, duration_s=2.0)
    alert.refresh_from_db()
    return alert


def test_the_api_gives_the_snapshot_and_clip_urls_and_seconds(api_as, users, reviewed):
    data = api_as(users["viewer"]).get(f"/api/alerts/{reviewed.pk}/").json()
    assert data["snapshot_url"] == f"/api/alerts/{reviewed.pk}/snapshot/"
    assert data["clip_url"] == f"/api/alerts/{reviewed.pk}/clip/"
    assert (data["clip_start_s"], data["clip_duration_s"]) == (0.0, 2.0)
    assert data["clip_trigger_s"] == pytest.approx(2.0)  # raised 2 s into the video
    listed = api_as(users["viewer"]).get("/api/alerts/").json()["results"][0]
    assert listed["clip_url"] == data["clip_url"]


def test_an_alert_without_media_says_so(api_as, users, camera):
    alert = Alert.objects.create(camera=camera, level="WARNING", trigger="density", message="m")
    api = api_as(users["viewer"])
    data = api.get(f"/api/alerts/{alert.pk}/").json()
    assert data["snapshot_url"] is None and data["clip_url"] is None and data["clip_trigger_s"] is None
    response = api.get(f"/api/alerts/{alert.pk}/clip/")
    assert response.status_code == 404 and "no clip" in response.json()["detail"]


def test_media_is_served_to_every_role_and_to_nobody_else(api_as, client, users, reviewed):
    clip = Path(reviewed.clip.path).read_bytes()
    assert api_as(None).get(f"/api/alerts/{reviewed.pk}/clip/").status_code == 401
    assert client.get(f"/api/alerts/{reviewed.pk}/snapshot/").status_code in (401, 403)
    for role in ("viewer", "operator", "admin"):
        response = api_as(users[role]).get(f"/api/alerts/{reviewed.pk}/clip/")
        assert response.status_code == 200 and response["Content-Type"] == "video/mp4"
        assert b"".join(response.streaming_content) == clip
    client.force_login(users["viewer"])  # the pages' session, as the <video> element asks
    ranged = client.get(f"/api/alerts/{reviewed.pk}/clip/", HTTP_RANGE="bytes=0-99")
    assert ranged.status_code == 206 and b"".join(ranged.streaming_content) == clip[:100]
    snapshot = client.get(f"/api/alerts/{reviewed.pk}/snapshot/")
    assert snapshot["Content-Type"] == "image/jpeg"
    assert b"".join(snapshot.streaming_content) == reviewed.snapshot.read()


def test_a_clip_file_outside_the_media_folder_is_never_served(api_as, users, reviewed):
    api = api_as(users["viewer"])
    for name in ("../../etc/passwd", "/etc/passwd", reviewed.snapshot.name):  # the last: not a clip
        Alert.objects.filter(pk=reviewed.pk).update(clip=name)
        assert api.get(f"/api/alerts/{reviewed.pk}/clip/").status_code == 404, name


def test_the_alert_page_shows_snapshot_clip_figures_and_history(client, users, reviewed):
    client.force_login(users["viewer"])
    page = client.get(reverse("alert_detail", args=[reviewed.pk])).content.decode()
    assert f'<video id="alert-clip" controls preload="metadata" src="/api/alerts/{reviewed.pk}/clip/"' in page
    assert f'src="/api/alerts/{reviewed.pk}/snapshot/"' in page
    assert "2.0 s of annotated video from 0.0 s" in page and "raised 2.0 s in" in page
    assert f"<td>{reviewed.metrics['scope']['count']}</td>" in page  # people when raised
    assert "Raised" in page and reviewed.message in page
    assert "Acknowledge" not in page  # viewers review, operators act
    assert client.get(reverse("alert_detail", args=[reviewed.pk + 1000])).status_code == 404


def test_the_history_shows_chat_ids_to_admins_only(client, users, reviewed):
    reviewed.events.create(action="notify_failed", note="raised: chat 42: 400 Bad Request: chat not found")
    url = reverse("alert_detail", args=[reviewed.pk])
    for role in ("viewer", "operator"):
        client.force_login(users[role])
        page = client.get(url).content.decode()
        assert "Notification failed: raised: chat ***: 400 Bad Request" in page and "chat 42" not in page
    client.force_login(users["admin"])
    assert "raised: chat 42: 400 Bad Request" in client.get(url).content.decode()


def test_an_operator_acknowledges_and_resolves_on_the_alert_page(client, users, reviewed):
    url = reverse("alert_detail", args=[reviewed.pk])
    client.force_login(users["operator"])
    assert "Acknowledge" in client.get(url).content.decode()
    response = client.post(reverse("alert_acknowledge", args=[reviewed.pk]), {"note": "on it", "next": url})
    assert response.status_code == 302 and response["Location"] == url
    page = client.get(url).content.decode()
    assert 'id="alert-status">Acknowledged<' in page and "“on it”" in page
    client.post(reverse("alert_resolve", args=[reviewed.pk]), {"note": "cleared", "next": url})
    page = client.get(url).content.decode()
    assert 'id="alert-status">Resolved<' in page and "Resolve</button>" not in page


def test_the_list_and_the_camera_timeline_show_thumbnails_and_clips(client, users, camera, reviewed):
    bare = Alert.objects.create(camera=camera, level="CRITICAL", trigger="surge", message="Surge m")
    client.force_login(users["viewer"])
    listing = client.get(reverse("alerts")).content.decode()
    assert f'<img class="thumb" src="/api/alerts/{reviewed.pk}/snapshot/"' in listing
    assert f'data-clip="{reviewed.pk}">▶ Clip 2 s</a>' in listing
    assert f'data-clip="{bare.pk}"' not in listing
    timeline = client.get(reverse("camera_events", args=[camera.pk])).content.decode()
    newest_first = timeline.index(f'id="event-{bare.pk}"') < timeline.index(f'id="event-{reviewed.pk}"')
    assert newest_first
    assert f'href="/alerts/{reviewed.pk}/#clip"' in timeline and "2 alerts" in timeline
    camera_page = client.get(reverse("camera_detail", args=[camera.pk])).content.decode()
    assert reverse("camera_events", args=[camera.pk]) in camera_page


def test_the_telegram_message_links_to_the_alert_page(telegram_on, reviewed, settings):
    settings.CROWDSAFE_PUBLIC_URL = "https://crowdsafe.example.org"
    assert send_alert_notification(reviewed.pk) == "sent to 2 chat(s)"
    for request in telegram_on.requests:
        caption = request.fields["caption"]
        assert f'<a href="https://crowdsafe.example.org/alerts/{reviewed.pk}/">' in caption
        assert "Snapshot, clip and history" in request.rendered


def test_without_a_public_url_the_message_carries_no_link(telegram_on, reviewed, settings):
    settings.CROWDSAFE_PUBLIC_URL = ""
    assert send_alert_notification(reviewed.pk) == "sent to 2 chat(s)"
    assert all("href" not in r.fields["caption"] for r in telegram_on.requests)
