"""Zone editor (issue #14 item 6): editing saved zones and lines, exclusion areas with the
polygon checks, the roles, the unannotated still, and the masks reaching a running engine."""

from __future__ import annotations

import json
import shutil
import threading

import cv2
import numpy as np
import pytest
from django.urls import reverse

from analytics.engine import CrowdEngine, ExclusionSpec
from cameras import live
from cameras.models import Camera, CountingLine, ExclusionArea, SourceType, Zone
from cameras.runtime.camera_sinks import LiveFrameSink
from cameras.runtime.engine_setup import ConfigWatcher, camera_geometry
from cameras.runtime.leases import Lease
from cameras.runtime.sinks import FrameOutput, SinkStart
from core.models import SystemLog
from tests.runtime.helpers import MjpegServer

SQUARE = [[0.1, 0.1], [0.4, 0.1], [0.4, 0.4], [0.1, 0.4]]


def _post(client, camera, **data):
    return client.post(reverse("camera_zones", args=[camera.pk]), data)


def test_a_saved_zone_is_edited_in_place(client_as, users, camera):
    zone = Zone.objects.create(camera=camera, name="Pit", polygon=SQUARE, area_m2=20)
    client = client_as(users["admin"])
    url = reverse("camera_zones", args=[camera.pk])
    page = client.get(url, {"zone": zone.pk}).content.decode()
    assert "Edit zone “Pit”" in page and f'name="id" value="{zone.pk}"' in page
    assert json.dumps(SQUARE) in page  # the points as JSON, as the drawing script reads them
    geometry = json.loads(page.split('id="geometry-data" type="application/json">')[1].split("</script>")[0])
    assert geometry["zones"] == []  # the zone being edited is the draft, not drawn twice

    moved = [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5], [0.1, 0.5]]
    response = _post(client, camera, action="zone", id=zone.pk, **{"zone-name": "Pit east",
                     "zone-polygon": json.dumps(moved), "zone-area_m2": "20"})
    assert response.status_code == 302
    zone.refresh_from_db()
    assert (zone.name, zone.polygon) == ("Pit east", moved) and Zone.objects.count() == 1
    entry = SystemLog.objects.get(action="zone.update")
    assert entry.details["fields"] == ["name", "polygon"]


def test_a_saved_line_is_edited_and_its_side_changed(client_as, users, camera):
    line = CountingLine.objects.create(camera=camera, name="Gate", points=[[0.2, 0.5], [0.8, 0.5]])
    client = client_as(users["admin"])
    response = _post(client, camera, action="line", id=line.pk, **{"line-name": "Gate",
                     "line-points": "[[0.2, 0.6], [0.8, 0.4]]", "line-in_side": "right"})
    assert response.status_code == 302
    line.refresh_from_db()
    assert line.points == [[0.2, 0.6], [0.8, 0.4]] and line.in_side == "right"
    bad = _post(client, camera, action="line", id=line.pk, **{"line-name": "Gate",
                "line-points": "[[0.2, 0.6]]", "line-in_side": "left"})
    assert bad.status_code == 400 and "exactly 2 points" in bad.content.decode()
    line.refresh_from_db()
    assert line.points == [[0.2, 0.6], [0.8, 0.4]]


def test_editing_a_part_of_another_camera_is_404(client_as, users, camera):
    other = Camera.objects.create(name="Other", source_type=SourceType.RTSP, source="rtsp://h/s")
    zone = Zone.objects.create(camera=other, name="Theirs", polygon=SQUARE)
    client = client_as(users["admin"])
    assert client.get(reverse("camera_zones", args=[camera.pk]), {"zone": zone.pk}).status_code == 404
    response = _post(client, camera, action="zone", id=zone.pk, **{"zone-name": "Mine",
                     "zone-polygon": json.dumps(SQUARE)})
    assert response.status_code == 404
    zone.refresh_from_db()
    assert zone.name == "Theirs" and zone.camera_id == other.pk


def test_exclusion_area_create_edit_delete_with_audit(client_as, users, camera):
    client = client_as(users["admin"])
    assert _post(client, camera, action="exclusion", **{"exclusion-name": "Poster",
                 "exclusion-polygon": json.dumps(SQUARE)}).status_code == 302
    area = ExclusionArea.objects.get(camera=camera)
    assert area.polygon == SQUARE
    assert _post(client, camera, action="exclusion", id=area.pk, **{"exclusion-name": "Poster",
                 "exclusion-polygon": "[[0.1, 0.1], [0.3, 0.1], [0.2, 0.3]]"}).status_code == 302
    area.refresh_from_db()
    assert len(area.polygon) == 3
    assert _post(client, camera, action="delete_exclusion", id=area.pk).status_code == 302
    assert not ExclusionArea.objects.exists()
    logged = SystemLog.objects.filter(action__startswith="exclusion.")
    assert sorted(logged.values_list("action", "kind")) == [
        ("exclusion.create", "zone"), ("exclusion.delete", "zone"), ("exclusion.update", "zone")
    ]


@pytest.mark.parametrize(
    ("polygon", "message"),
    [
        ("[[0.1, 0.1], [0.5, 0.1]]", "between 3 and 100 points"),
        ("[[0.1, 0.1], [1.5, 0.1], [0.5, 0.5]]", "outside the frame"),
        ("[[0.1, 0.1], [0.6, 0.5], [0.6, 0.1], [0.1, 0.3]]", "edges cross"),  # a bow tie
        ("[[0.1, 0.1], [0.2, 0.2], [0.3, 0.3]]", "encloses no area"),
        ("[[0.1, 0.1],", "not valid JSON"),
    ],
)
@pytest.mark.parametrize("kind", ["zone", "exclusion"])
def test_bad_polygons_are_refused_with_the_reason(client_as, users, camera, kind, polygon, message):
    response = _post(client_as(users["admin"]), camera, action=kind,
                     **{f"{kind}-name": "Bad", f"{kind}-polygon": polygon})
    assert response.status_code == 400
    assert message in response.content.decode() and 'class="field has-error"' in response.content.decode()
    assert not Zone.objects.exists() and not ExclusionArea.objects.exists()


def test_the_same_exclusion_name_twice_on_a_camera_is_refused(client_as, users, camera):
    ExclusionArea.objects.create(camera=camera, name="Screen", polygon=SQUARE)
    response = _post(client_as(users["admin"]), camera, action="exclusion",
                     **{"exclusion-name": "Screen", "exclusion-polygon": json.dumps(SQUARE)})
    assert response.status_code == 400 and ExclusionArea.objects.count() == 1


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_only_admins_open_the_editor_and_change_geometry(client_as, users, camera, role):
    """Zones, lines and exclusion areas are camera configuration: admins only (README, Roles)."""
    area = ExclusionArea.objects.create(camera=camera, name="Screen", polygon=SQUARE)
    client = client_as(users[role])
    assert client.get(reverse("camera_zones", args=[camera.pk])).status_code == 403
    assert client.get(reverse("camera_raw_still", args=[camera.pk])).status_code == 403
    for data in (
        {"action": "exclusion", "exclusion-name": "New", "exclusion-polygon": json.dumps(SQUARE)},
        {"action": "exclusion", "id": area.pk, "exclusion-name": "Renamed",
         "exclusion-polygon": json.dumps(SQUARE)},
        {"action": "delete_exclusion", "id": area.pk},
    ):
        assert _post(client, camera, **data).status_code == 403
    area.refresh_from_db()
    assert area.name == "Screen" and ExclusionArea.objects.count() == 1


def _gap_to_first_frame(response, video) -> float:
    """Mean pixel difference between a still response (a JPEG) and the video's first frame."""
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    still = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
    cap = cv2.VideoCapture(str(video))
    ok, first = cap.read()
    cap.release()
    assert ok and still.shape == first.shape
    return float(np.abs(still.astype(int) - first.astype(int)).mean())


def test_the_still_of_a_file_camera_is_its_first_frame_unannotated(client_as, users, media, vtest_avi):
    shutil.copy(vtest_avi, media / "uploads" / "clip.avi")
    camera = Camera.objects.create(name="Clip", source_type=SourceType.FILE, source="clip.avi")
    response = client_as(users["admin"]).get(reverse("camera_raw_still", args=[camera.pk]))
    assert _gap_to_first_frame(response, vtest_avi) < 3.0  # JPEG noise only


def test_an_unreachable_stopped_live_camera_has_no_still(client_as, users, camera):
    camera.source = "http://127.0.0.1:9/video.mjpg"  # the discard port: refused at once
    camera.save()
    response = client_as(users["admin"]).get(reverse("camera_raw_still", args=[camera.pk]))
    assert response.status_code == 204 and response.content == b""


def test_a_stopped_live_camera_gives_a_frame_of_its_own_connection(client_as, users, camera, vtest_avi):
    """Nobody holds a stopped camera's source: the editor gets one frame from a short
    connection, so zones can be drawn before the first start."""
    server = MjpegServer(vtest_avi, fps=25)
    try:
        camera.source_type, camera.source = SourceType.HTTP, server.url
        camera.save()
        response = client_as(users["admin"]).get(reverse("camera_raw_still", args=[camera.pk]))
    finally:
        server.close()
    assert _gap_to_first_frame(response, vtest_avi) < 6.0  # two JPEG passes


def test_a_running_live_camera_sends_its_unannotated_frame_on_a_wish(client_as, users, camera):
    """The editor's wish is answered by the runner's live-frame sink with the raw frame, not
    the annotated one, and only once per wish."""
    raw, annotated = b"\xff\xd8raw", b"\xff\xd8annotated"
    sink = LiveFrameSink(SinkStart(camera_id=camera.pk, origin=None))  # type: ignore[arg-type]
    frame = FrameOutput(result=_Result(), jpeg=lambda: annotated, raw_jpeg=lambda: raw)
    lease, stop = Lease(camera.pk, ttl_s=30), threading.Event()
    assert lease.acquire()

    def runner() -> None:
        while not stop.is_set():
            sink._last = sink._raw_checked = float("-inf")  # every loop is a live frame and a check
            sink.on_frame(None, frame)  # type: ignore[arg-type]
            stop.wait(0.05)

    thread = threading.Thread(target=runner, daemon=True)
    thread.start()
    try:
        response = client_as(users["admin"]).get(reverse("camera_raw_still", args=[camera.pk]))
    finally:
        stop.set()
        thread.join(5)
        lease.release()
    assert response.status_code == 200 and response.content == raw
    assert live.get_latest_jpeg(camera.pk) == annotated  # the viewers' frame is untouched
    assert not live.take_raw_wish(camera.pk)  # consumed by the sink
    live.clear_live_state(camera.pk)
    assert live.get_raw_still(camera.pk) is None


class _Result:
    timestamp = 0.0


def test_exclusion_areas_reach_a_running_engine_at_the_next_check(camera):
    engine = CrowdEngine(None, geometry=camera_geometry(camera))
    watcher = ConfigWatcher(engine, camera, interval_s=0.0)
    boxes = np.array([[100, 50, 200, 300]], dtype=np.float64)  # foot point (0.234, 0.625) of 640x480
    assert engine.analyse((boxes, np.array([1]), None), 0.0, (640, 480)).count == 1
    polygon = [[0.2, 0.5], [0.3, 0.5], [0.3, 0.7], [0.2, 0.7]]
    area = ExclusionArea.objects.create(camera=camera, name="Mannequin", polygon=polygon)
    watcher.refresh(Camera.objects.prefetch_related("zones", "lines", "exclusions").get(pk=camera.pk))
    assert engine.analyse((boxes, np.array([1]), None), 0.1, (640, 480)).count == 0
    assert engine.geometry.exclusions == [ExclusionSpec(area.pk, "Mannequin", [tuple(p) for p in polygon])]


def test_the_camera_api_lists_its_exclusion_areas(client_as, users, camera):
    area = ExclusionArea.objects.create(camera=camera, name="Screen", polygon=SQUARE)
    body = client_as(users["viewer"]).get(f"/api/cameras/{camera.pk}/").json()
    assert body["exclusions"] == [{"id": area.pk, "name": "Screen", "polygon": SQUARE}]
