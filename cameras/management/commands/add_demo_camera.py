"""Create (or reuse) a demo camera playing a local video, optionally starting it.

    python manage.py add_demo_camera [--video PATH] [--name NAME] [--start]
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from cameras import services
from cameras.models import Camera, SourceType
from cameras.sources import resolve_upload_path
from cameras.uploads import import_video_file

DEFAULT_VIDEO = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")


class Command(BaseCommand):
    help = "Copy a video into the upload folder as a camera's source (default: OpenCV's vtest.avi)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--video", default=str(DEFAULT_VIDEO), help="a local video file")
        parser.add_argument("--name", default="Demo camera", help="camera name (reused if it exists)")
        parser.add_argument("--start", action="store_true", help="start the camera afterwards")

    def handle(self, *args, video: str, name: str, start: bool, **options) -> None:
        path = Path(video)
        if not path.is_file():
            raise CommandError(f"{path} does not exist. Give --video PATH (Debian: apt install opencv-doc).")
        try:
            camera = Camera.objects.filter(name=name).first() or services.create_camera(
                name=name, location="Demo", area_m2=60, capacity=120, target_fps=10
            )
            if not self._has_working_source(camera):
                import_video_file(camera, path)
            if start:
                started = services.start_camera(camera)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"Camera {camera.pk} ({camera.name}) plays {camera.source}.")
        if start:
            self.stdout.write("Started." if started else "Already running.")

    @staticmethod
    def _has_working_source(camera: Camera) -> bool:
        if camera.source_type != SourceType.FILE or not camera.source:
            return False
        try:
            return resolve_upload_path(camera.source).is_file()
        except ValidationError:
            return False
