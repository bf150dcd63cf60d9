"""The loop of one camera (run by the `run_camera` Celery task). Read `CameraRunner.loop` first.

Exactly one runner per camera: it holds the camera's Redis lease for as long as it runs
and renews it on every heartbeat; losing it ends the loop at once. The heartbeat also
follows the wish (`desired_state`), worker shutdown, source edits and settings changes,
and reports the observed status.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from redis.exceptions import RedisError

from analytics.engine import Detector, ModelLoadError
from cameras import live
from cameras.models import Camera, CameraStatus, DesiredState
from cameras.runtime import capacity, conf, leases, progress, sinks
from cameras.runtime.engine_setup import ConfigWatcher, build_engine, shared_detector
from cameras.runtime.pipeline import FramePipeline
from cameras.runtime.readers import FileReader, LiveReader, SourceOpenError, file_frames, live_frames
from cameras.sources import ResolvedSource, resolve_source
from cameras.status import set_status
from core.outages import warn_throttled

log = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Why a loop ended.
FINISHED, STOPPED, SHUTDOWN = "finished", "stopped", "shutdown"
LOST, RESTART, FAILED = "lost", "restart", "error"
PARKED = "parked"  # a live source long down: the stream slot is given back (cameras.runtime.capacity)


def run(camera_id: int, *, should_stop: Callable[[], bool] = lambda: False) -> str:
    """Run a camera until it finishes, is stopped or loses its lease. Returns why it ended
    ("already-running" when another runner holds the lease: a second start does nothing)."""
    if leases.is_running(camera_id):
        leases.clear_pending(camera_id)  # else reconcile ignores the camera until it expires (60 s)
        return "already-running"
    try:
        # Once per worker process, and before taking the lease: loading may take longer
        # than the lease lives, and it holds no camera state.
        detector = shared_detector()
    except ModelLoadError as exc:  # a deployment problem; reconcile retries later
        set_status(camera_id, CameraStatus.ERROR, str(exc))
        leases.clear_pending(camera_id)
        return FAILED
    lease = leases.Lease(camera_id)
    try:
        acquired = lease.acquire()
    except DatabaseError as exc:  # e.g. a frozen runner still locks the camera row: retried
        log.warning("Camera %s: fencing token not taken (%s); reconcile retries", camera_id, exc)
        leases.clear_pending(camera_id)
        return FAILED
    if not acquired:
        leases.clear_pending(camera_id)
        return "already-running"
    leases.clear_pending(camera_id)
    try:
        return CameraRunner(camera_id, lease, should_stop, detector).run()
    finally:
        lease.release()


class CameraRunner:
    def __init__(
        self, camera_id: int, lease: leases.Lease, should_stop: Callable[[], bool], detector: Detector
    ) -> None:
        self.camera_id = camera_id
        self.detector = detector
        self.lease = lease
        self.should_stop = should_stop
        self.status = ""
        self.detail = ""
        self.recording_error: str | None = None
        self.reader: LiveReader | FileReader | None = None
        self.frames_seen = False
        self.parked_before: float | None = None  # backoff of this camera's last parking
        self.redis_down_since: float | None = None  # monotonic time of the first failed heartbeat

    def run(self) -> str:
        camera = Camera.objects.filter(pk=self.camera_id).first()
        if camera is None or camera.desired_state != DesiredState.RUNNING or not camera.is_active:
            if camera is not None:
                set_status(self.camera_id, CameraStatus.STOPPED)
            return STOPPED
        missing = sinks.missing_sinks()
        if missing:  # a deployment fault: analyse nothing rather than drop metrics or alerts
            message = f"Frame sinks {missing} are listed in CROWDSAFE_FRAME_SINKS but not registered."
            log.error("Camera %s: %s", self.camera_id, message)
            set_status(self.camera_id, CameraStatus.ERROR, message)
            return FAILED
        if camera.status == CameraStatus.RECOVERING:  # stays "recovering" until frames flow again
            self._report(CameraStatus.RECOVERING, "A new runner took over; opening the source.")
        else:
            self._report(CameraStatus.STARTING, "Opening the source and loading the detector.")
        try:
            resolved = resolve_source(camera.source_type, camera.source)
            engine = build_engine(camera, self.detector)
            frames = self._open(resolved, camera)
            if resolved.is_live:
                with contextlib.suppress(RedisError):
                    self.parked_before = capacity.last_park_backoff(self.camera_id)
        except (ValidationError, SourceOpenError) as exc:  # nothing to retry: the wish is dropped
            message = " ".join(getattr(exc, "messages", [str(exc)]))
            set_status(self.camera_id, CameraStatus.ERROR, message, desired_state=DesiredState.STOPPED)
            return FAILED
        origin = EPOCH if resolved.is_live else self._file_origin(camera)
        record_fps = min(camera.target_fps, getattr(self.reader, "source_fps", 0) or camera.target_fps)
        pipeline = FramePipeline(
            camera, engine, origin=origin, record_fps=record_fps, on_recording_error=self._recording_error,
            fence=self.lease.fence_check,
            on_written=None if resolved.is_live else self._position_saver(camera.source, origin),
        )
        outcome = FAILED
        try:
            outcome = self.loop(frames, pipeline, ConfigWatcher(engine, camera))
        except Exception as exc:  # never a silent death: the reason is on the camera
            log.exception("Camera %s runner failed", self.camera_id)
            self.detail = f"Analysis failed: {type(exc).__name__}: {exc}"
        finally:
            self._close(pipeline)
        self._finish(outcome, pipeline)
        return outcome

    def loop(self, frames: Iterator, pipeline: FramePipeline, watcher: ConfigWatcher) -> str:
        """The camera loop: heartbeat when due, then process the frame (None: no frame yet)."""
        beat_every, next_beat = conf.heartbeat_s(), 0.0
        self.loop_started = time.monotonic()
        for frame in frames:
            if time.monotonic() >= next_beat:
                next_beat = time.monotonic() + beat_every
                reason = self.heartbeat(pipeline, watcher)
                if reason:
                    return reason
            if frame is not None:
                pipeline.process(frame)
                self.frames_seen = True
                if pipeline.fenced:  # a flush found another runner's token: stop at once
                    log.warning("Camera %s: fenced out, this runner stops", self.camera_id)
                    return LOST
        return FINISHED

    def heartbeat(self, pipeline: FramePipeline, watcher: ConfigWatcher) -> str | None:
        try:
            if not self._keep_lease():
                log.warning("Camera %s: lease lost, this runner stops", self.camera_id)
                pipeline.fence_out()  # its buffered seconds may be another runner's now
                return LOST
            if self.should_stop():
                return SHUTDOWN
        except RedisError as exc:  # Redis away: analyse and write metrics on, fenced by the database
            if self.redis_down_since is None:
                self.redis_down_since = time.monotonic()
            warn_throttled(log, f"runner-{self.camera_id}", "Camera %s: Redis unavailable (%s); analysis "
                           "and metrics go on, the lease is re-taken when it returns", self.camera_id, exc)
        try:
            parts = ("zones", "lines", "exclusions")
            camera = Camera.objects.prefetch_related(*parts).filter(pk=self.camera_id).first()
            if camera is None or camera.desired_state != DesiredState.RUNNING or not camera.is_active:
                return STOPPED
            started = pipeline.camera
            if (camera.source_type, camera.source, camera.target_fps) != (
                started.source_type, started.source, started.target_fps
            ):
                return RESTART
            watcher.refresh(camera)
            pipeline.refresh(camera)
            self._report(*self._observed(pipeline), seen=self.frames_seen)
            self.frames_seen = False
            pipeline.heartbeat()
            if pipeline.fenced:
                return LOST
            if self._should_park():
                return PARKED
        except DatabaseError as exc:  # a database blip: keep analysing, reconnect next beat
            log.warning("Camera %s heartbeat: database error %s", self.camera_id, exc)
            connection.close()
        return None

    # -- helpers ---------------------------------------------------------------------------
    def _keep_lease(self) -> bool:
        """Renew the lease; if its key is gone (Redis restarted, or it expired during an outage)
        take it back, unless another runner holds the key or has fenced this one out."""
        if self.lease.renew():
            renewed = True
        else:
            try:
                with transaction.atomic():
                    renewed = self.lease.fence_check() and self.lease.reacquire()
            except DatabaseError:  # cannot tell whether another runner took over: stop
                renewed = False
            if renewed:
                log.warning("Camera %s: lease re-taken after Redis lost it", self.camera_id)
                self.status = ""  # write the status again: a restart attempt may have overwritten it
        if renewed and self.redis_down_since is not None:
            log.warning("Camera %s: Redis back after %.1f s", self.camera_id,
                        time.monotonic() - self.redis_down_since)
            self.redis_down_since = None
        return renewed

    def _open(self, resolved: ResolvedSource, camera: Camera) -> Iterator:
        if not resolved.is_live:
            self.reader = FileReader(
                resolved, camera.target_fps, pace=conf.pace_files(), isolated=conf.decode_isolated()
            )
            return file_frames(self.reader)
        self.reader = LiveReader(
            resolved,
            open_timeout_s=conf.open_timeout_s(),
            watchdog_s=conf.watchdog_s(),
            backoff_initial_s=conf.reconnect_initial_s(),
            backoff_max_s=conf.reconnect_max_s(),
            isolated=conf.decode_isolated(),
        ).start()
        return live_frames(self.reader, camera.target_fps)

    def _file_origin(self, camera: Camera) -> datetime:
        """Now for a new analysis; the saved origin, after skipping ahead, for a resumed one."""
        saved = progress.load(camera.pk, camera.source)
        if saved is None:
            return timezone.now()
        self.reader.skip_to(saved.resume_s)
        log.info("Camera %s resumes its file at %.0f s", camera.pk, saved.resume_s)
        return saved.origin

    def _position_saver(self, source: str, origin: datetime) -> Callable[[int], None]:
        """The file position, stored by each metrics write in its own transaction (rows and
        position commit together: see MetricsWriter.on_written)."""

        def save(written_until: int) -> None:
            progress.save(self.camera_id, source, progress.Progress(origin, written_until))

        return save

    def _should_park(self) -> bool:
        """A live source down for long (or again, after a parking) gives its slot back."""
        reader = self.reader
        if not isinstance(reader, LiveReader):
            return False
        if reader.state == "running":
            if self.parked_before is not None:
                self.parked_before = None
                with contextlib.suppress(RedisError):
                    capacity.unpark(self.camera_id)
            return False
        if reader.state != "reconnecting":
            return False
        return self.parked_before is not None or reader.backoff_s >= conf.slot_release_backoff_s()

    def _observed(self, pipeline: FramePipeline) -> tuple[str, str]:
        reader = self.reader
        if isinstance(reader, LiveReader) and reader.state != "running":
            if reader.state == "connecting":
                return CameraStatus.STARTING, "Connecting to the source."
            return CameraStatus.RECONNECTING, (
                f"{reader.detail} Attempt {reader.attempt}, next try in {reader.backoff_s:g} s."
            )
        if self.recording_error:
            return CameraStatus.ERROR, self.recording_error
        if self.redis_down_since is not None:
            return CameraStatus.RUNNING, "Redis unavailable: analysis and metrics go on; live view paused."
        return CameraStatus.RUNNING, ""

    def _report(self, status: str, detail: str, *, seen: bool = False) -> None:
        if (status, detail) != (self.status, self.detail):
            self.status, self.detail = status, detail
            set_status(self.camera_id, status, detail, seen=seen)
        elif seen:
            Camera.objects.filter(pk=self.camera_id).update(last_seen_at=timezone.now())

    def _recording_error(self, message: str | None) -> None:
        self.recording_error = message  # shown by the next heartbeat; analysis goes on

    def _close(self, pipeline: FramePipeline) -> None:
        if isinstance(self.reader, LiveReader):
            self.reader.stop()
        elif self.reader is not None:
            self.reader.close()
        pipeline.close()

    def _finish(self, outcome: str, pipeline: FramePipeline) -> None:
        with contextlib.suppress(RedisError):  # else the keys expire by themselves within seconds
            live.clear_live_state(self.camera_id)
        if outcome == LOST:
            return  # another runner owns the camera now; its status is not ours to write
        if outcome == PARKED:
            reader = self.reader
            backoff = reader.backoff_s if isinstance(reader, LiveReader) else 0.0
            delay = min(max((self.parked_before or 0.0) * 2, backoff, 1.0), conf.reconnect_max_s())
            with contextlib.suppress(RedisError):  # else reconcile retries it at once
                capacity.park(self.camera_id, delay)
            detail = getattr(reader, "detail", "") or "The source is unreachable."
            set_status(self.camera_id, CameraStatus.RECONNECTING,
                       f"{detail} Stream slot given back; next try in {delay:.0f} s.")
            return
        if outcome not in (SHUTDOWN, FAILED):  # else the next runner goes on from the last write
            progress.clear(self.camera_id)  # finished, stopped or a new source: start over next time
        elapsed = time.monotonic() - getattr(self, "loop_started", time.monotonic())
        rate = pipeline.frames / elapsed if elapsed > 0 else 0.0
        frames = f"{pipeline.frames} frames analysed in {elapsed:.1f} s ({rate:.2f} fps)"
        p95 = pipeline.frame_ms_p95()
        frames += f", p95 {p95:.0f} ms a frame." if p95 is not None else "."
        if outcome == FINISHED:
            set_status(self.camera_id, CameraStatus.FINISHED, f"End of the video. {frames}", seen=True,
                       desired_state=DesiredState.STOPPED)
        elif outcome == SHUTDOWN:
            detail = "Worker shut down; the camera restarts with a worker."
            set_status(self.camera_id, CameraStatus.STOPPED, detail)
        elif outcome == FAILED:
            set_status(self.camera_id, CameraStatus.ERROR, self.detail)
        elif outcome == STOPPED:
            set_status(self.camera_id, CameraStatus.STOPPED, f"Stopped. {frames}")
        elif outcome == RESTART:  # the task queues the next runner once the lease is released
            set_status(self.camera_id, CameraStatus.STARTING, "Source changed: restarting.")
