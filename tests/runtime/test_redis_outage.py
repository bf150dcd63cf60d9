"""Redis outages (issue #11): pages, login and the API keep answering (503 at worst, never 500);
a running camera keeps analysing and writing metrics, keeps its file position in the
database, re-takes its lease when Redis returns and logs the outage sparingly."""

from __future__ import annotations

import copy
import threading
import time

import pytest
import requests
from rest_framework.test import APIClient

from analytics.models import Metric
from cameras import services
from cameras.models import Camera, DesiredState
from cameras.runtime import leases, progress, runner
from cameras.uploads import import_video_file
from core.models import SystemLog
from core.redis import get_redis
from tests.chaos.stack import RedisServer
from tests.conftest import PASSWORD
from tests.support import free_port, wait_for


def _point_at(settings, url: str) -> None:
    """Every Redis user of this process (live state, cache, channel layer) at `url`."""
    settings.REDIS_URL = url
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["LOCATION"] = url
    settings.CACHES = caches
    layers = copy.deepcopy(settings.CHANNEL_LAYERS)
    layers["default"]["CONFIG"]["hosts"][0]["address"] = url
    settings.CHANNEL_LAYERS = layers
    get_redis.cache_clear()


@pytest.fixture
def redis_down(settings):
    """Nothing listens at the Redis URL (an outage)."""
    _point_at(settings, f"redis://127.0.0.1:{free_port()}/0")
    yield
    get_redis.cache_clear()


@pytest.fixture
def private_redis(settings):
    server = RedisServer()
    _point_at(settings, server.url)
    yield server
    server.close()
    get_redis.cache_clear()


PAGES = ["/", "/dashboard/grid/", "/cameras/", "/cameras/{id}/", "/cameras/{id}/edit/", "/alerts/",
         "/analytics/", "/recordings/", "/settings/", "/users/", "/logs/"]
API = ["/api/cameras/", "/api/cameras/{id}/", "/api/metrics/{id}/current/", "/api/metrics/{id}/",
       "/api/metrics/{id}/summary/", "/api/alerts/", "/api/alerts/unacknowledged/count/",
       "/api/auth/me/", "/api/system/stats/", "/api/settings/"]


@pytest.mark.django_db
def test_pages_login_and_api_answer_while_redis_is_down(redis_down, client, admin_user, vtest_avi):
    camera = services.create_camera(name="Gate R", area_m2=40)
    with pytest.raises(Exception):  # noqa: B017 - really down
        get_redis().ping()

    assert client.login(username=admin_user.username, password=PASSWORD)  # session in the database
    for url in PAGES:
        response = client.get(url.format(id=camera.pk))
        assert response.status_code == 200, (url, response.status_code)

    api = APIClient()
    login = api.post("/api/auth/login/", {"username": admin_user.username, "password": PASSWORD},
                     format="json")
    assert login.status_code == 200 and login.json()["access"]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {login.json()['access']}")
    for url in API:
        response = api.get(url.format(id=camera.pk))
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
    assert api.get(f"/api/metrics/{camera.pk}/current/").status_code == 200

    # What truly needs Redis says so clearly: 503 with Retry-After, never 500.
    import_video_file(camera, vtest_avi)
    started = api.post(f"/api/cameras/{camera.pk}/start/")
    assert started.status_code == 503, started.content
    assert started.json()["code"] == "service_unavailable" and started["Retry-After"] == "5"
    page_start = client.post(f"/cameras/{camera.pk}/start/")
    assert page_start.status_code == 503 and page_start["Retry-After"] == "5"
    assert b"Temporarily unavailable" in page_start.content
    health = api.get("/api/system/health/")
    assert health.status_code == 503 and health.json()["redis"].startswith("error")
    # One warning per kind per half minute, not one per request.
    assert SystemLog.objects.filter(level="WARNING").count() <= 5


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(240)
def test_runner_writes_through_a_redis_restart_and_takes_its_lease_back(
    private_redis, settings, clip_long, test_model
):
    settings.CROWDSAFE_PACE_FILES = True  # real time: the camera runs while Redis is away
    settings.CROWDSAFE_CAMERA_HEARTBEAT_S = 0.5
    settings.CROWDSAFE_CAMERA_LEASE_TTL_S = 3
    camera = services.create_camera(name="Gate S", area_m2=40, target_fps=5)
    import_video_file(camera, clip_long)
    Camera.objects.filter(pk=camera.pk).update(desired_state=DesiredState.RUNNING)
    stop = threading.Event()
    outcome: list[str] = []
    thread = threading.Thread(target=lambda: outcome.append(runner.run(camera.pk, should_stop=stop.is_set)))
    thread.start()
    try:
        rows = Metric.objects.filter(camera_id=camera.pk, zone=None)
        wait_for(lambda: rows.count() >= 3, 90, what="the first metric rows")
        holder = leases.lease_holder(camera.pk)
        logs_before = SystemLog.objects.count()

        private_redis.kill()  # every key is lost: lease, live state
        down_at, rows_at_kill = time.monotonic(), rows.count()
        # Down for longer than the lease lives, and until rows were written meanwhile.
        wait_for(lambda: rows.count() >= rows_at_kill + 2 or outcome, 90, what="rows during the outage")
        time.sleep(max(0.0, 5 - (time.monotonic() - down_at)))
        assert thread.is_alive() and not outcome  # the runner did not die with Redis
        down_s = time.monotonic() - down_at
        saved = progress.load(camera.pk, camera.source)  # the file position is in the database
        assert saved is not None and saved.resume_s >= rows_at_kill

        private_redis.start()  # empty
        up_at = time.monotonic()
        wait_for(lambda: leases.lease_holder(camera.pk), 10, 0.1, what="the lease to be re-taken")
        retaken_s = time.monotonic() - up_at
        assert leases.lease_holder(camera.pk)["token"] == holder["token"]  # the same runner
        wait_for(lambda: "Redis unavailable" not in Camera.objects.get(pk=camera.pk).status_detail, 10)
        time.sleep(2)
    finally:
        stop.set()
        thread.join(60)
    assert outcome == [runner.SHUTDOWN]
    print(f"Redis down {down_s:.1f} s; lease re-taken {retaken_s:.1f} s after it returned")
    assert retaken_s < 5

    stamps = list(rows.order_by("timestamp").values_list("timestamp", flat=True))
    seconds = [round((t - stamps[0]).total_seconds()) for t in stamps]
    assert seconds == list(range(len(seconds)))  # each second once, no gap through the outage
    assert progress.load(camera.pk, camera.source).resume_s == len(seconds)
    # The outage on the frame path (40 frames, 16 live pushes) left a handful of log rows.
    new_logs = list(SystemLog.objects.order_by("pk").values_list("message", flat=True))[logs_before:]
    assert len(new_logs) <= 12, new_logs


@pytest.mark.django_db(transaction=True)
def test_websockets_accept_again_as_soon_as_redis_is_back(private_redis, admin_user, media_root):
    """The web server lives through the restart: its channel layer must not keep using the
    connections Redis closed (websockets used to be refused for minutes)."""
    from django.contrib.sessions.backends.db import SessionStore
    from websockets.sync.client import connect

    from tests.chaos.stack import start_web

    session = SessionStore()
    session.update({"_auth_user_id": str(admin_user.pk),
                    "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
                    "_auth_user_hash": admin_user.get_session_auth_hash()})
    session.create()
    web, base = start_web(private_redis.url, media_root)

    def handshake() -> bool:
        try:
            with connect(base.replace("http", "ws") + "/ws/dashboard/?format=json", open_timeout=5,
                         additional_headers={"Cookie": f"sessionid={session.session_key}", "Origin": base}):
                return True
        except Exception:
            return False

    try:
        assert handshake()
        private_redis.kill()
        assert not handshake()  # refused while Redis is away
        assert requests.get(base + "/api/system/health/", timeout=10).status_code == 503
        private_redis.start()
        up = time.monotonic()
        wait_for(handshake, 15, 0.1, what="a websocket after Redis returned")
        back_s = time.monotonic() - up
    finally:
        web.stop()
    assert back_s < 3, f"websockets accepted again only {back_s:.1f} s after Redis returned"
    assert "Exception in ASGI application" not in web.output()  # refused cleanly, not a 500
