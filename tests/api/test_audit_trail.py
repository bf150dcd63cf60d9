"""The audit trail (issue #14 item 8): each action leaves exactly one entry in the system log
with its actor, object and action, driven through the real pages, API and services; the Logs
page and GET /api/system/logs/ filter it; only admins read it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from alerts.models import AlertStatus
from cameras.models import Camera, CameraStatus, CountingLine, Zone
from cameras.services import save_camera_part
from cameras.status import set_status
from core import audit
from core.models import SystemLog
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def audit_rows():
    return SystemLog.objects.exclude(kind=SystemLog.Kind.PLATFORM).order_by("id")


def only_entry(**match) -> SystemLog:
    """The one audit entry there is, checked to match `match`."""
    rows = list(audit_rows())
    assert len(rows) == 1, [(r.action, r.message) for r in rows]
    row = rows[0]
    for name, value in match.items():
        assert getattr(row, name) == value, (name, getattr(row, name), value)
    return row


def signed_in(client_as, user):
    """The test client logged in as `user`, its sign-in entry dropped."""
    client = client_as(user)
    SystemLog.objects.all().delete()
    return client


def as_text(row: SystemLog) -> str:
    fields = ("level", "component", "message", "kind", "action", "object_type", "object_id", "object_label")
    return json.dumps({name: getattr(row, name) for name in fields} | {"details": row.details})


# --- sign-ins ---------------------------------------------------------------------------------


def test_form_login_logout_and_failure(client, admin_user):
    assert client.post(reverse("login"), {"username": "alice_admin", "password": PASSWORD}).status_code == 302
    only_entry(action="auth.login", kind="auth", actor=admin_user, object_type="user",
               object_id=str(admin_user.pk), object_label="alice_admin")
    SystemLog.objects.all().delete()

    assert client.post(reverse("logout")).status_code == 302
    only_entry(action="auth.logout", actor=admin_user, object_id=str(admin_user.pk))
    SystemLog.objects.all().delete()

    response = client.post(reverse("login"), {"username": "alice_admin", "password": "wrong-Secret-77"})
    assert response.status_code == 200  # the form again, with its error
    row = only_entry(action="auth.login_failed", actor=None, level="WARNING", object_id=str(admin_user.pk))
    assert row.details["username"] == "alice_admin"
    assert "wrong-Secret-77" not in as_text(row) and PASSWORD not in as_text(row)


def test_api_login_failure_and_logout(admin_user):
    api = APIClient()
    tokens = api.post("/api/auth/login/", {"username": "alice_admin", "password": PASSWORD}, format="json")
    assert tokens.status_code == 200
    only_entry(action="auth.login", actor=admin_user, object_id=str(admin_user.pk))
    SystemLog.objects.all().delete()

    wrong = {"username": "nobody_here", "password": "hunter2-Secret"}
    bad = api.post("/api/auth/login/", wrong, format="json")
    assert bad.status_code == 401
    row = only_entry(action="auth.login_failed", actor=None, object_type="", object_id="")
    assert row.details == {"username": "nobody_here", "ip": "127.0.0.1"}
    assert "hunter2-Secret" not in as_text(row)
    SystemLog.objects.all().delete()

    # Only the refresh token, no session and no access token: its owner signed out.
    out = APIClient().post("/api/auth/logout/", {"refresh": tokens.json()["refresh"]}, format="json")
    assert out.status_code == 200
    only_entry(action="auth.logout", actor=admin_user, object_id=str(admin_user.pk))


# --- cameras, zones, lines ------------------------------------------------------------------------


def test_camera_create_edit_start_stop_delete(api_as, client_as, admin_user, operator_user):
    api = api_as(admin_user)
    source = "rtsp://u:pw-Secret@10.0.0.9/s"
    body = {"name": "Main Gate", "source_type": "rtsp", "source": source, "area_m2": 80}
    created = api.post("/api/cameras/", body, format="json")
    assert created.status_code == 201, created.json()
    camera_id = created.json()["id"]
    row = only_entry(action="camera.create", kind="camera", actor=admin_user, object_type="camera",
                     object_id=str(camera_id), object_label="Main Gate")
    assert row.details["camera_id"] == camera_id
    SystemLog.objects.all().delete()

    assert api.patch(f"/api/cameras/{camera_id}/", {"capacity": 250, "name": "Main Gate"},
                     format="json").status_code == 200
    row = only_entry(action="camera.update", actor=admin_user, object_id=str(camera_id))
    assert row.details["fields"] == ["capacity"]  # the name was sent unchanged
    SystemLog.objects.all().delete()

    client = signed_in(client_as, operator_user)
    assert client.post(reverse("camera_start", args=[camera_id])).status_code == 302
    only_entry(action="camera.start", actor=operator_user, object_id=str(camera_id), object_label="Main Gate")
    SystemLog.objects.all().delete()
    assert client.post(reverse("camera_stop", args=[camera_id])).status_code == 302
    only_entry(action="camera.stop", actor=operator_user, object_id=str(camera_id))
    SystemLog.objects.all().delete()

    assert api.delete(f"/api/cameras/{camera_id}/").status_code == 204
    only_entry(action="camera.delete", actor=admin_user, object_id=str(camera_id), object_label="Main Gate")
    assert "pw-Secret" not in "".join(as_text(r) for r in SystemLog.objects.all())


def test_zone_and_line_create_edit_delete(client_as, admin_user, camera):
    client = signed_in(client_as, admin_user)
    url = reverse("camera_zones", args=[camera.pk])
    polygon = "[[0.1, 0.1], [0.6, 0.1], [0.6, 0.8]]"
    zone_form = {"action": "zone", "zone-name": "Pit", "zone-polygon": polygon}
    assert client.post(url, zone_form).status_code == 302
    zone = Zone.objects.get(camera=camera)
    row = only_entry(action="zone.create", kind="zone", actor=admin_user, object_type="zone",
                     object_id=str(zone.pk), object_label="North Gate / Pit")
    assert row.details["camera_id"] == camera.pk
    SystemLog.objects.all().delete()

    zone.name = "Pit front"
    save_camera_part(zone, user=admin_user, fields=["name"])
    row = only_entry(action="zone.update", actor=admin_user, object_label="North Gate / Pit front")
    assert row.details == {"camera_id": camera.pk, "fields": ["name"]}
    SystemLog.objects.all().delete()

    assert client.post(url, {"action": "delete_zone", "id": zone.pk}).status_code == 302
    only_entry(action="zone.delete", actor=admin_user, object_id=str(zone.pk),
               object_label="North Gate / Pit front")
    SystemLog.objects.all().delete()

    points = "[[0.2, 0.5], [0.8, 0.5]]"
    line = {"action": "line", "line-name": "Door", "line-points": points, "line-in_side": "left"}
    assert client.post(url, line).status_code == 302
    counting_line = CountingLine.objects.get(camera=camera)
    only_entry(action="line.create", kind="zone", actor=admin_user, object_type="countingline",
               object_id=str(counting_line.pk))
    SystemLog.objects.all().delete()
    assert client.post(url, {"action": "delete_line", "id": counting_line.pk}).status_code == 302
    only_entry(action="line.delete", actor=admin_user, object_id=str(counting_line.pk))


def test_admin_site_zone_edit_goes_through_the_service(client_as, admin_user, camera):
    zone = Zone.objects.create(camera=camera, name="Pit", polygon=[[0, 0], [0.5, 0], [0.5, 1]])
    client = signed_in(client_as, admin_user)
    url = reverse("admin:cameras_camera_change", args=[camera.pk])
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data = {name: json.dumps(v) if isinstance(v, list | dict) else v for name, v in data.items()}
    data["is_active"] = "on"
    # Fields with a callable default carry their initial value in a hidden input, as a browser sends it.
    hidden = [name for name, field in form.fields.items() if field.show_hidden_initial]
    data |= {f"initial-{name}": data[name] for name in hidden}
    data.update({
        "zones-TOTAL_FORMS": "1", "zones-INITIAL_FORMS": "1", "zones-MIN_NUM_FORMS": "0",
        "zones-MAX_NUM_FORMS": "1000", "zones-0-id": zone.pk, "zones-0-camera": camera.pk,
        "zones-0-name": "Pit east", "zones-0-polygon": json.dumps(zone.polygon),
        "lines-TOTAL_FORMS": "0", "lines-INITIAL_FORMS": "0", "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
        "exclusions-TOTAL_FORMS": "0", "exclusions-INITIAL_FORMS": "0", "exclusions-MIN_NUM_FORMS": "0",
        "exclusions-MAX_NUM_FORMS": "1000",
    })
    response = client.post(url, data)
    assert response.status_code == 302, response.context["errors"] if response.context else response
    row = only_entry(action="zone.update", actor=admin_user, object_id=str(zone.pk),
                     object_label="North Gate / Pit east")
    assert row.details == {"camera_id": camera.pk, "fields": ["name"]}


# --- settings, alerts, users --------------------------------------------------------------------


def test_settings_change_names_the_fields_never_the_token(api_as, admin_user):
    api = api_as(admin_user)
    body = {"alert_cooldown_s": 300, "telegram_bot_token": "42:very-Secret-token", "detector_iou": 0.5}
    assert api.patch("/api/settings/", body, format="json").status_code == 200
    row = only_entry(action="settings.update", kind="settings", actor=admin_user,
                     object_type="runtimesettings")
    assert row.details == {"fields": ["alert_cooldown_s", "telegram_bot_token"]}  # iou was 0.5 already
    assert "very-Secret" not in as_text(row)


def test_settings_page_names_only_the_changed_fields(client_as, admin_user):
    from core.forms import RuntimeSettingsForm
    from core.runtime_settings import get_runtime_settings

    client = signed_in(client_as, admin_user)
    form = RuntimeSettingsForm(current=get_runtime_settings())
    data = {name: form[name].value() for name in form.fields if form[name].value() not in (None, False)}
    data["density_caution"] = 1.5
    assert client.post(reverse("settings"), data).status_code == 302
    row = only_entry(action="settings.update", actor=admin_user)
    assert row.details == {"fields": ["density_caution"]}


def test_acknowledge_and_resolve(api_as, client_as, operator_user, camera, make_alert):
    alert = make_alert()
    api = api_as(operator_user)
    assert api.post(f"/api/alerts/{alert.pk}/acknowledge/", {}, format="json").status_code == 200
    row = only_entry(action="alert.acknowledge", kind="alert", actor=operator_user, object_type="alert",
                     object_id=str(alert.pk))
    assert row.details == {"camera_id": camera.pk} and "North Gate" in row.object_label
    SystemLog.objects.all().delete()
    assert api.post(f"/api/alerts/{alert.pk}/resolve/", {}, format="json").status_code == 200
    only_entry(action="alert.resolve", actor=operator_user, object_id=str(alert.pk))
    SystemLog.objects.all().delete()

    # Resolving an open alert acknowledges it on the way: still one entry, "resolve".
    other = make_alert()
    client = signed_in(client_as, operator_user)
    assert client.post(reverse("alert_resolve", args=[other.pk])).status_code in (200, 302)
    other.refresh_from_db()
    assert other.status == AlertStatus.RESOLVED
    only_entry(action="alert.resolve", actor=operator_user, object_id=str(other.pk))


def test_user_create_edit_role_change_deactivate_delete(api_as, admin_user):
    api = api_as(admin_user)
    body = {"username": "nina_new", "password": "Tr0ub4dor&3-long", "role": "viewer"}
    created = api.post("/api/users/", body, format="json")
    assert created.status_code == 201
    user_id = created.json()["id"]
    row = only_entry(action="user.create", kind="user", actor=admin_user, object_type="user",
                     object_id=str(user_id), object_label="nina_new")
    assert "Tr0ub4dor" not in as_text(row)
    steps = [
        ({"full_name": "Nina New"}, "user.update", ["full_name"]),
        ({"role": "operator"}, "user.role_change", ["role"]),
        ({"role": "operator", "full_name": "Nina New"}, None, None),  # nothing changed: no entry
    ]
    for change, action, fields in steps:
        SystemLog.objects.all().delete()
        assert api.patch(f"/api/users/{user_id}/", change, format="json").status_code == 200
        if action is None:
            assert not audit_rows().exists()
        else:
            row = only_entry(action=action, actor=admin_user, object_id=str(user_id))
            assert row.details["fields"] == fields
    SystemLog.objects.all().delete()
    assert api.post(f"/api/users/{user_id}/deactivate/").status_code == 200
    only_entry(action="user.deactivate", actor=admin_user, object_id=str(user_id))
    SystemLog.objects.all().delete()
    assert api.delete(f"/api/users/{user_id}/").status_code == 204
    only_entry(action="user.delete", actor=admin_user, object_id=str(user_id), object_label="nina_new")


# --- connection failures and recoveries -------------------------------------------------------


def test_a_reconnect_storm_logs_one_failure_and_one_recovery(camera):
    set_status(camera.pk, CameraStatus.RUNNING, "")  # running, never failed: nothing to recover from
    for attempt in range(1, 30):
        set_status(camera.pk, CameraStatus.RECONNECTING, f"Connection refused. Attempt {attempt}.")
        set_status(camera.pk, CameraStatus.STARTING, "Connecting to the source.")
    set_status(camera.pk, CameraStatus.ERROR, "Still unreachable.")
    for _ in range(5):
        set_status(camera.pk, CameraStatus.RUNNING, "")
    rows = list(audit_rows())
    assert [(r.action, r.actor, r.object_type, r.object_id, r.object_label) for r in rows] == [
        ("connection.failed", None, "camera", str(camera.pk), "North Gate"),
        ("connection.recovered", None, "camera", str(camera.pk), "North Gate"),
    ]
    assert rows[0].level == "WARNING" and rows[0].details["status"] == "reconnecting"
    assert "Attempt 1." in rows[0].message
    # The next outage is a new transition: one more failure.
    set_status(camera.pk, CameraStatus.RECONNECTING, "Connection reset.")
    set_status(camera.pk, CameraStatus.RECONNECTING, "Connection reset.")
    assert list(audit_rows().values_list("action", flat=True)) == [
        "connection.failed", "connection.recovered", "connection.failed"
    ]


def test_a_stop_ends_an_outage_without_a_recovery(api_as, operator_user, camera):
    set_status(camera.pk, CameraStatus.RECONNECTING, "Connection refused.")
    api = api_as(operator_user)
    assert api.post(f"/api/cameras/{camera.pk}/stop/").status_code == 200
    assert api.post(f"/api/cameras/{camera.pk}/start/").status_code in (200, 202)
    set_status(camera.pk, CameraStatus.RUNNING, "")  # runs after a fresh start: no recovery
    set_status(camera.pk, CameraStatus.ERROR, "Decoder failed.")  # a new failure after the start
    assert list(audit_rows().values_list("action", flat=True)) == [
        "connection.failed", "camera.stop", "camera.start", "connection.failed"
    ]


# --- the Logs page and the API filter it; admins only ---------------------------------------


@pytest.fixture
def trail(camera, admin_user, operator_user):
    """Entries of each kind, at known times: platform warnings, two cameras, two users."""
    other = Camera.objects.create(name="South Gate", source_type="rtsp", source="rtsp://10.0.0.6/s")
    zone = Zone.objects.create(camera=camera, name="Pit", polygon=[[0, 0], [0.5, 0], [0.5, 1]])
    now = timezone.now()
    rows = {
        "warning": SystemLog.objects.create(level="WARNING", component="alerts.telegram", message="Refused"),
        "start_north": audit.record(audit.Action.CAMERA_START, actor=operator_user, obj=camera,
                                    camera_id=camera.pk),
        "zone_north": audit.record(audit.Action.ZONE_UPDATE, actor=admin_user, obj=zone,
                                   camera_id=camera.pk),
        "start_south": audit.record(audit.Action.CAMERA_START, actor=admin_user, obj=other,
                                    camera_id=other.pk),
        "login_admin": audit.record(audit.Action.LOGIN, actor=admin_user, obj=admin_user),
    }
    for age_h, row in zip((5, 4, 3, 2, 1), rows.values(), strict=True):
        SystemLog.objects.filter(pk=row.pk).update(timestamp=now - timedelta(hours=age_h))
    return {name: row.pk for name, row in rows.items()} | {"north": camera.pk, "south": other.pk, "now": now}


FILTER_CASES = [
    ({}, ["login_admin", "start_south", "zone_north", "start_north", "warning"]),
    ({"kind": "platform"}, ["warning"]),
    ({"kind": "audit"}, ["login_admin", "start_south", "zone_north", "start_north"]),
    ({"kind": "camera"}, ["start_south", "start_north"]),
    ({"kind": "zone"}, ["zone_north"]),
    ({"action": "camera.start"}, ["start_south", "start_north"]),
    ({"camera": "north"}, ["zone_north", "start_north"]),
    ({"camera": "south"}, ["start_south"]),
    ({"user": "operator"}, ["start_north"]),
    ({"user": "admin", "kind": "camera"}, ["start_south"]),
    ({"start": -3.5, "end": -1.5}, ["start_south", "zone_north"]),
]


def _params(trail, users, query: dict) -> dict:
    params = {}
    for name, value in query.items():
        if name == "camera":
            value = trail[value]
        elif name == "user":
            value = users[value].pk
        elif name in ("start", "end"):
            value = (trail["now"] + timedelta(hours=value)).isoformat()
        params[name] = value
    return params


@pytest.mark.parametrize(("query", "expected"), FILTER_CASES)
def test_api_filters_return_exactly_the_matching_rows(api_as, users, trail, query, expected):
    response = api_as(users["admin"]).get("/api/system/logs/", _params(trail, users, query))
    assert response.status_code == 200, response.json()
    assert [row["id"] for row in response.json()["results"]] == [trail[name] for name in expected]


def test_api_returns_the_new_fields(api_as, users, trail):
    rows = api_as(users["admin"]).get("/api/system/logs/", {"action": "zone.update"}).json()["results"]
    assert len(rows) == 1
    row = rows[0]
    assert {k: row[k] for k in ("kind", "action", "actor", "user", "object_type", "object_label")} == {
        "kind": "zone", "action": "zone.update", "actor": users["admin"].pk, "user": "alice_admin",
        "object_type": "zone", "object_label": "North Gate / Pit",
    }
    assert row["details"] == {"camera_id": trail["north"]}


@pytest.mark.parametrize(("query", "expected"), FILTER_CASES)
def test_logs_page_filters_return_exactly_the_matching_rows(client_as, users, trail, query, expected):
    params = _params(trail, users, query)
    for name in ("start", "end"):  # the page's inputs are local date-times (UTC), minutes
        if name in params:
            params[name] = (trail["now"] + timedelta(hours=query[name])).strftime("%Y-%m-%dT%H:%M")
    response = client_as(users["admin"]).get(reverse("logs"), params)
    assert response.status_code == 200
    page = response.content.decode()
    shown = [pk for pk in (trail[name] for name in FILTER_CASES[0][1]) if f'data-log-id="{pk}"' in page]
    assert shown == [trail[name] for name in expected]


def test_logs_page_paginates_and_refuses_bad_filters(client_as, users, trail):
    SystemLog.objects.bulk_create(
        [SystemLog(level="WARNING", component="x", message=f"w{i}") for i in range(60)]
    )
    client = client_as(users["admin"])
    first = client.get(reverse("logs"), {"kind": "platform"}).content.decode()
    second = client.get(reverse("logs"), {"kind": "platform", "page": 2}).content.decode()
    assert first.count("data-log-id=") == 50 and second.count("data-log-id=") == 11
    assert "Page 1 of 2 · 61 rows" in first
    assert client.get(reverse("logs"), {"kind": "nonsense"}).status_code == 400
    assert client.get(reverse("logs"), {"start": "yesterday"}).status_code == 400


def test_only_admins_read_the_trail(api_as, client_as, users, trail):
    for role in ("operator", "viewer"):
        assert api_as(users[role]).get("/api/system/logs/").status_code == 403
        assert client_as(users[role]).get(reverse("logs")).status_code == 403
    assert api_as(None).get("/api/system/logs/").status_code == 401
    assert api_as(users["admin"]).get("/api/system/logs/", {"kind": "nonsense"}).status_code == 400


def test_the_action_vocabulary_is_grouped_by_kind():
    assert audit.kind_of("line.create") == "zone" and audit.kind_of("connection.failed") == "connection"
    grouped = {kind: audit.actions_of(kind) for kind in SystemLog.Kind.values}
    assert grouped["platform"] == [] and all(grouped[k] for k in SystemLog.Kind.values if k != "platform")
    assert sorted(a for actions in grouped.values() for a in actions) == sorted(audit.Action.values)
