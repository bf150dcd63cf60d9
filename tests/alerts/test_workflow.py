"""Open -> acknowledged -> resolved by each role, the audit trail, counts and the live push."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.core.exceptions import PermissionDenied, ValidationError

from alerts import state
from alerts.hooks import on_frame
from alerts.models import Alert
from alerts.services import acknowledge_alert, alert_statistics, resolve_alert, unacknowledged_count
from tests.alerts.frames import feed


@pytest.fixture
def alert(camera) -> Alert:
    """One open WARNING density alert, raised through the rules."""
    feed(on_frame, camera, 0, 3, density=4.5, risk_level="CAUTION")
    return Alert.objects.get()


def trail(alert: Alert) -> list[tuple[str, str | None, str]]:
    events = alert.events.select_related("user")
    return [(e.action, e.user.username if e.user else None, e.note) for e in events]


@pytest.mark.parametrize("role", ["operator", "admin"])
def test_operators_and_admins_acknowledge_then_resolve(alert, users, role):
    user = users[role]
    assert unacknowledged_count() == 1
    result = acknowledge_alert(alert, user=user, note="  stewards on their way ")
    assert result.status == "acknowledged" and result.acknowledged_by == user
    assert result.acknowledge_note == "stewards on their way" and result.acknowledged_at is not None
    assert unacknowledged_count() == 0
    result = resolve_alert(alert, user=user, note="gate reopened")
    assert result.status == "resolved" and result.resolved_by == user
    assert result.resolve_note == "gate reopened"
    assert result.resolved_at >= result.acknowledged_at
    assert trail(alert)[1:] == [
        ("acknowledged", user.username, "stewards on their way"),
        ("resolved", user.username, "gate reopened"),
    ]
    assert trail(alert)[0][0] == "raised"


def test_viewers_may_not_acknowledge_or_resolve(alert, viewer_user):
    with pytest.raises(PermissionDenied, match="operators and admins"):
        acknowledge_alert(alert, user=viewer_user)
    with pytest.raises(PermissionDenied):
        resolve_alert(alert, user=viewer_user, note="no")
    alert.refresh_from_db()
    assert alert.status == "open" and [a for a, _, _ in trail(alert)] == ["raised"]


def test_anonymous_and_inactive_users_may_not_either(alert, operator_user):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(PermissionDenied):
        acknowledge_alert(alert, user=AnonymousUser())
    operator_user.is_active = False
    operator_user.save()
    with pytest.raises(PermissionDenied):
        resolve_alert(alert, user=operator_user)


def test_state_errors_are_validation_errors_and_change_nothing(alert, operator_user, admin_user):
    resolve_alert(alert, user=operator_user)  # straight from open: acknowledged on the way
    assert [(a, u) for a, u, _ in trail(alert)] == [
        ("raised", None),
        ("acknowledged", "oscar_operator"),
        ("resolved", "oscar_operator"),
    ]
    alert.refresh_from_db()
    assert alert.acknowledged_by == operator_user
    with pytest.raises(ValidationError) as err:
        acknowledge_alert(alert, user=admin_user)
    assert "status" in err.value.message_dict
    with pytest.raises(ValidationError, match="already resolved"):
        resolve_alert(alert, user=admin_user)
    assert len(trail(alert)) == 3


def test_bad_notes_are_refused(alert, operator_user):
    with pytest.raises(ValidationError) as err:
        acknowledge_alert(alert, user=operator_user, note="x" * 2001)
    assert "note" in err.value.message_dict
    with pytest.raises(ValidationError):
        acknowledge_alert(alert, user=operator_user, note={"not": "text"})
    alert.refresh_from_db()
    assert alert.status == "open"


def test_statistics_by_level_status_and_trigger(camera, operator_user):
    feed(on_frame, camera, 0, 3, density=4.5)  # density WARNING
    feed(on_frame, camera, 3, 6, density=1.0, surge=0.9)  # + surge CRITICAL
    feed(on_frame, camera, 6, 9, density=1.0, risk_level="WARNING")  # + risk level, unexplained
    acknowledge_alert(Alert.objects.get(trigger="surge"), user=operator_user)
    resolve_alert(Alert.objects.get(trigger="risk_level"), user=operator_user)
    stats = alert_statistics()
    assert stats["total"] == 3
    assert stats["by_level"] == {"WARNING": 2, "CRITICAL": 1}
    assert stats["by_status"] == {"open": 1, "acknowledged": 1, "resolved": 1}
    assert stats["by_trigger"] == {
        "risk_level": 1,
        "density": 1,
        "surge": 1,
        "stagnation": 0,
        "count_unreliable": 0,
    }
    assert stats["unacknowledged"] == 1 == unacknowledged_count() and stats["unresolved"] == 2
    assert alert_statistics(Alert.objects.filter(level="CRITICAL"))["total"] == 1


def test_resolve_tells_the_runner_at_once(alert, operator_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        resolve_alert(alert, user=operator_user)
    loaded = state.load(alert.camera_id, ts=3.0)
    assert loaded.keys["-:density"].alert_id is None  # untracked on the next frame
    assert loaded.keys["-:density"].level == "WARNING"  # kept for the cooldown


def test_new_and_changed_alerts_are_pushed_live(camera, operator_user, django_capture_on_commit_callbacks):
    layer = get_channel_layer()

    def raise_one() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            feed(on_frame, camera, 0, 3, density=4.5, risk_level="CAUTION")

    def acknowledge() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            acknowledge_alert(Alert.objects.get(), user=operator_user, note="on it")

    async def scenario() -> list[tuple[str, dict]]:
        dashboard = await layer.new_channel()
        camera_channel = await layer.new_channel()
        await layer.group_add("dashboard", dashboard)
        await layer.group_add(f"camera.{camera.pk}", camera_channel)
        got = []
        try:
            await sync_to_async(raise_one)()  # same thread: same test transaction
            for channel in (dashboard, camera_channel):
                got.append(await asyncio.wait_for(layer.receive(channel), 5))
            await sync_to_async(acknowledge)()
            got.append(await asyncio.wait_for(layer.receive(dashboard), 5))
        finally:
            await layer.group_discard("dashboard", dashboard)
            await layer.group_discard(f"camera.{camera.pk}", camera_channel)
        return got

    new_dash, new_cam, changed = async_to_sync(scenario)()
    assert new_dash == new_cam
    assert new_dash["type"] == "alert.new"
    data = new_dash["data"]
    assert data["camera_id"] == camera.pk and data["camera_name"] == "Main Gate"
    assert data["level"] == "WARNING" and data["trigger"] == "density" and data["status"] == "open"
    assert data["unacknowledged_count"] == 1 and data["density"] == 4.5
    assert data["snapshot_url"] == f"/api/alerts/{data['id']}/snapshot/"  # role-checked, never /media/
    assert data["url"] == f"/alerts/{data['id']}/" and data["clip_url"] is None  # the clip comes later
    assert changed["type"] == "alert.changed"
    assert changed["data"]["status"] == "acknowledged"
    assert changed["data"]["acknowledged_by"] == "oscar_operator"
    assert changed["data"]["unacknowledged_count"] == 0
