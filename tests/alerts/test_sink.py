"""The alerts sink as the runner drives it: per-camera context, rule state kept in memory and
checkpointed to Redis (at each heartbeat, and at once when an alert changed)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ImproperlyConfigured

from alerts.clips import EventClipSink
from alerts.models import Alert
from alerts.services import resolve_alert
from alerts.sinks import AlertSink
from alerts.state import rules_key
from analytics.sinks import MetricsSink
from cameras.models import Camera
from cameras.runtime import sinks
from cameras.runtime.camera_sinks import LivePushSink
from cameras.runtime.sinks import CameraContext, FrameOutput, SinkStart
from core.redis import get_redis
from tests.alerts.frames import jpeg, make_frame, timeline

ORIGIN = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def _context(camera: Camera) -> CameraContext:
    return CameraContext.load(Camera.objects.prefetch_related("zones").get(pk=camera.pk))


def _feed(sink: AlertSink, context: CameraContext, start: float, end: float, density: float) -> None:
    for ts in timeline(start, end):
        sink.on_frame(context, FrameOutput(make_frame(ts, density), lambda: jpeg()))


def _stored(camera: Camera) -> dict[str, str]:
    raw = get_redis().hgetall(rules_key(camera.pk))
    return {k.decode(): v.decode() for k, v in raw.items()}


def test_every_runner_gets_the_registered_sinks_in_the_configured_order(camera, settings):
    settings.CROWDSAFE_RECORDINGS_ENABLED = False  # no recorder thread for this test
    built = sinks.build(SinkStart(camera.pk, ORIGIN))
    assert [name for name, _ in built] == [
        "recording", "live_frame", "metrics", "alerts", "event_clips", "live_push"
    ]
    kinds = {name: type(sink) for name, sink in built}
    assert kinds["metrics"] is MetricsSink and kinds["alerts"] is AlertSink
    assert kinds["live_push"] is LivePushSink and kinds["event_clips"] is EventClipSink
    for _, sink in built:
        sink.close()


def test_a_listed_sink_that_no_app_registered_fails_loudly(camera, settings):
    settings.CROWDSAFE_FRAME_SINKS = ["metrics", "alerts", "crowd_counting_v2"]
    errors = sinks.check_sinks(None)
    assert [e.id for e in errors] == ["cameras.E001"] and "crowd_counting_v2" in errors[0].msg
    with pytest.raises(ImproperlyConfigured, match="crowd_counting_v2"):
        sinks.build(SinkStart(camera.pk, ORIGIN))
    with pytest.raises(ImproperlyConfigured, match="registered twice"):
        sinks.register("alerts", MetricsSink)


def test_rule_state_lives_in_the_runner_and_is_checkpointed_when_an_alert_changes(camera):
    sink, context = AlertSink(SinkStart(camera.pk, ORIGIN)), _context(camera)
    _feed(sink, context, 0, 3, density=4.5)  # WARNING after the 2 s debounce
    (alert,) = Alert.objects.all()
    stored = _stored(camera)
    assert str(alert.pk) in next(v for k, v in stored.items() if k != "_clock")  # saved at once

    # Between heartbeats nothing is read from or written to Redis: with the hash gone, the
    # runner still knows its alert (no duplicate) and does not write it back...
    get_redis().delete(rules_key(camera.pk))
    _feed(sink, context, 3, 4.5, density=4.5)
    assert Alert.objects.count() == 1 and _stored(camera) == {}
    # ...until the heartbeat checkpoints it.
    sink.on_heartbeat(context)
    assert str(alert.pk) in next(v for k, v in _stored(camera).items() if k != "_clock")


def test_a_new_runner_resumes_from_the_checkpoint_without_firing_again(camera):
    first = AlertSink(SinkStart(camera.pk, ORIGIN))
    _feed(first, _context(camera), 0, 3, density=4.5)
    first.on_heartbeat(_context(camera))
    # The runner is killed; its successor starts the file's clock again at 0.
    second = AlertSink(SinkStart(camera.pk, ORIGIN))
    _feed(second, _context(camera), 0, 10, density=4.5)
    assert Alert.objects.count() == 1


def test_an_alert_resolved_elsewhere_is_untracked_at_the_next_heartbeat(
    camera, operator_user, django_capture_on_commit_callbacks
):
    sink, context = AlertSink(SinkStart(camera.pk, ORIGIN)), _context(camera)
    _feed(sink, context, 0, 3, density=4.5)
    (alert,) = Alert.objects.all()
    with django_capture_on_commit_callbacks(execute=True):
        resolve_alert(alert, user=operator_user)
    assert any(st.alert_id == alert.pk for st in sink.state.keys.values())
    sink.on_heartbeat(context)
    assert all(st.alert_id is None for st in sink.state.keys.values())
