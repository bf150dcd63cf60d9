"""``python manage.py analyze_video PATH``: run the vision engine over a video file offline."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from analytics.engine import CameraGeometry, DetectorConfig, EngineConfig, ModelLoadError
from analytics.engine.offline import VideoSourceError, analyze_video
from analytics.engine.render import RenderOptions
from analytics.engine.tiling import TILING_MODES
from cameras.models import Camera
from cameras.runtime.engine_setup import camera_geometry, engine_config


class Command(BaseCommand):
    help = "Analyse a video file: annotated video (--out) and JSON summary (--json)."
    requires_system_checks: list[str] = []  # offline tool: no database or app checks needed

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="video file to analyse")
        parser.add_argument("--model", help="detector weights (.pt or exported folder)")
        parser.add_argument("--device", help="auto | cpu | cuda | cuda:N")
        parser.add_argument("--max-frames", type=int, default=None, help="stop after N frames")
        parser.add_argument(
            "--out",
            help="annotated video path; the extension follows the codec that works "
            "(.mp4 for H.264, .webm for VP8/VP9)",
        )
        parser.add_argument("--json", dest="json_path", help="write the JSON summary here")
        parser.add_argument(
            "--camera",
            type=int,
            help="analyse as this camera would (its ID): its area, calibration, zones, lines, "
            "exclusion areas and detection settings, and the runtime settings; needs the database",
        )
        parser.add_argument(
            "--area", type=float, default=None, help="monitored area in m² (default 100; not with --camera)"
        )
        parser.add_argument("--heatmap", action="store_true", help="draw the density heatmap")
        parser.add_argument(
            "--tiling",
            choices=TILING_MODES,
            default=None,
            help="sliced inference for small, distant people: off | on | auto (default, or the camera's)",
        )
        parser.add_argument(
            "--imgsz",
            type=int,
            default=None,
            help="detector input size (a multiple of 32; fixed-size exports keep their own)",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["area"] is not None and options["area"] <= 0:
            raise CommandError("--area must be positive")
        if options["camera"] is not None and options["area"] is not None:
            raise CommandError("--area comes from the camera with --camera; leave it out")
        if options["max_frames"] is not None and options["max_frames"] <= 0:
            raise CommandError("--max-frames must be positive")
        imgsz = options["imgsz"]
        if imgsz is not None and (imgsz < 32 or imgsz > 4096 or imgsz % 32):
            raise CommandError("--imgsz must be a multiple of 32 between 32 and 4096")
        det_cfg = DetectorConfig(
            model=options["model"] or getattr(settings, "CROWDSAFE_DETECTOR_MODEL", "yolo11s.pt"),
            device=options["device"] or getattr(settings, "CROWDSAFE_DETECTOR_DEVICE", "auto"),
            imgsz=imgsz or int(getattr(settings, "CROWDSAFE_DETECTOR_IMGSZ", 960)),
            conf=float(getattr(settings, "CROWDSAFE_DETECTOR_CONF", 0.25)),
            iou=float(getattr(settings, "CROWDSAFE_DETECTOR_IOU", 0.5)),
            allow_download=bool(getattr(settings, "CROWDSAFE_DETECTOR_ALLOW_DOWNLOAD", False)),
        )
        geometry, config = self._camera_setup(options)
        try:
            summary = analyze_video(
                options["path"],
                detector_config=det_cfg,
                geometry=geometry,
                engine_config=config,
                max_frames=options["max_frames"],
                out_video=options["out"],
                out_json=options["json_path"],
                render_options=RenderOptions(heatmap=options["heatmap"]),
                progress=not options["no_progress"],
            )
        except (VideoSourceError, ModelLoadError) as exc:
            raise CommandError(str(exc)) from exc
        except OSError as exc:
            raise CommandError(f"I/O error: {exc}") from exc
        brief = {k: summary[k] for k in ("frames", "processed_fps", "count", "unique_tracks")}
        brief["peak_level"] = summary["peak_level"]
        brief["quality_frames"] = summary["quality_frames"]
        if summary["imgsz_note"]:
            self.stderr.write(summary["imgsz_note"])
        self.stdout.write(json.dumps(brief))
        if summary["video"]:
            self.stdout.write(f"Annotated video: {summary['video']} (codec {summary['codec']})")
        if options["json_path"]:
            self.stdout.write(f"Summary: {options['json_path']}")

    def _camera_setup(self, options: dict[str, Any]) -> tuple[CameraGeometry, EngineConfig]:
        """The engine's geometry and configuration: a camera's own (``--camera``), or the
        flags'; ``--tiling`` and ``--imgsz`` given explicitly override the camera's."""
        overrides: dict[str, Any] = {
            "tile_mirror": bool(getattr(settings, "CROWDSAFE_TILE_MIRROR", True))
        }
        if options["tiling"] is not None:
            overrides["tiling"] = options["tiling"]
        if options["imgsz"] is not None:
            overrides["imgsz"] = options["imgsz"]
        if options["camera"] is None:
            area = options["area"] if options["area"] is not None else 100.0
            return CameraGeometry(area_m2=area), EngineConfig(**overrides)
        try:
            camera = Camera.objects.get(pk=options["camera"])
            return camera_geometry(camera), engine_config(camera=camera).with_changes(**overrides)
        except Camera.DoesNotExist:
            raise CommandError(f"No camera with ID {options['camera']}") from None
        except DatabaseError as exc:  # --camera reads the database; without it, one clear line
            raise CommandError(f"--camera needs the database, which cannot be read: {exc}") from exc
