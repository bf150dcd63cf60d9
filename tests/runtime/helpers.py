"""Helpers of the runtime tests: short clips and a local MJPEG camera (processes, waiting and
the database URL come from tests.support)."""

from __future__ import annotations

import time
from pathlib import Path

import cv2


def cut_clip(src: Path, dest: Path, seconds: float, *, fourcc: str = "MJPG") -> Path:
    """The first `seconds` of `src` as a new file (MJPG .avi decodes fast)."""
    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS) or 10.0
    writer = None
    for _ in range(round(fps * seconds)):
        ok, frame = cap.read()
        if not ok:
            break
        if writer is None:
            h, w = frame.shape[:2]
            writer = cv2.VideoWriter(str(dest), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
        writer.write(frame)
    cap.release()
    assert writer is not None, f"cannot read {src}"
    writer.release()
    return dest


def wanted_running(name: str, video: Path, area_m2: float = 50):
    """A file camera on `video` whose wish is to run (as a start leaves it before the task)."""
    from cameras import services
    from cameras.models import DesiredState
    from cameras.uploads import import_video_file

    camera = services.create_camera(name=name, area_m2=area_m2, target_fps=10)
    import_video_file(camera, video)
    camera.refresh_from_db()
    camera.desired_state = DesiredState.RUNNING
    camera.save()
    return camera


class MjpegServer:
    """A local HTTP MJPEG camera (multipart/x-mixed-replace) looping a video at its frame rate."""

    def __init__(self, video: Path, port: int = 0, fps: float = 10.0) -> None:
        import socketserver
        import threading
        from http.server import BaseHTTPRequestHandler

        cap = cv2.VideoCapture(str(video))
        self.frames: list[bytes] = []
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            self.frames.append(cv2.imencode(".jpg", frame)[1].tobytes())
        cap.release()
        server = self
        self.stopping = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                i = 0
                try:
                    while not server.stopping.is_set():
                        jpeg = server.frames[i % len(server.frames)]
                        self.wfile.write(
                            b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: "
                            + str(len(jpeg)).encode()
                            + b"\r\n\r\n"
                            + jpeg
                            + b"\r\n"
                        )
                        i += 1
                        time.sleep(1 / fps)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.httpd = Server(("127.0.0.1", port), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/video.mjpg"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()

