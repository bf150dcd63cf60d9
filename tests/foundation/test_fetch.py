"""`make weights` and the demo clip: checksums, partial files, the offline fallback of `make run`.

The real yolo11s.pt is never downloaded here: a local HTTP server plays Ultralytics' release.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from crowdsafe import fetch, launcher
from tests.support import free_port

PAYLOAD = os.urandom(300_000)
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def mirror():
    """http://127.0.0.1:PORT/: /good.pt serves PAYLOAD, /short.pt breaks off, anything else 404."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path == "/good.pt":
                self.send_response(200)
                self.send_header("Content-Length", str(len(PAYLOAD)))
                self.end_headers()
                self.wfile.write(PAYLOAD)
            elif self.path == "/short.pt":
                self.send_response(200)
                self.send_header("Content-Length", str(len(PAYLOAD)))
                self.end_headers()
                self.wfile.write(PAYLOAD[:1000])  # then the connection closes
            else:
                self.send_error(404)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_url() -> str:
    return f"http://127.0.0.1:{free_port()}/yolo11s.pt"  # nothing listens there


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_download_with_the_right_checksum_lands_whole(mirror, tmp_path):
    dest = tmp_path / "models" / "yolo11s.pt"
    sha = hashlib.sha256(PAYLOAD).hexdigest()
    assert fetch.fetch_weights(url=f"{mirror}/good.pt", dest=dest, sha256=sha, progress=False) == dest
    assert dest.read_bytes() == PAYLOAD and _leftovers(dest.parent) == ["yolo11s.pt"]
    # Present and right: nothing is downloaded again (the mirror would answer 404 now).
    assert fetch.fetch_weights(url=f"{mirror}/gone.pt", dest=dest, sha256=sha) == dest


def test_a_file_that_is_not_ultralytics_yolo11s_is_refused_and_discarded(mirror, tmp_path):
    dest = tmp_path / "yolo11s.pt"
    with pytest.raises(fetch.FetchError, match="checksum mismatch.*expected 85a76fe8"):
        fetch.fetch_weights(url=f"{mirror}/good.pt", dest=dest, progress=False)  # the repo's checksum
    assert _leftovers(tmp_path) == []


def test_a_broken_off_download_or_an_http_error_leaves_nothing(mirror, tmp_path):
    dest = tmp_path / "yolo11s.pt"
    sha = hashlib.sha256(PAYLOAD).hexdigest()
    with pytest.raises(fetch.FetchError, match="download of .*/short.pt failed"):
        fetch.download(f"{mirror}/short.pt", dest, sha, progress=False)
    with pytest.raises(fetch.FetchError, match="answered 404"):
        fetch.download(f"{mirror}/missing.pt", dest, sha, progress=False)
    assert _leftovers(tmp_path) == []


def test_an_existing_different_file_is_left_alone_and_named(tmp_path):
    dest = tmp_path / "yolo11s.pt"
    dest.write_bytes(b"my own model")
    with pytest.raises(fetch.FetchError, match="exists but is not Ultralytics' yolo11s.pt"):
        fetch.fetch_weights(dest=dest)
    assert dest.read_bytes() == b"my own model"


@pytest.mark.parametrize("url", ["closed", "http://crowdsafe-weights.invalid/yolo11s.pt"])
def test_offline_is_known_within_seconds(url, closed_url, tmp_path):
    url = closed_url if url == "closed" else url
    started = time.monotonic()
    with pytest.raises(fetch.FetchError, match="^offline: "):
        fetch.fetch_weights(url=url, dest=tmp_path / "yolo11s.pt")
    assert time.monotonic() - started < fetch.CONNECT_TIMEOUT_S + 1.5
    assert _leftovers(tmp_path) == []


def test_make_weights_offline_prints_why_and_what_to_do(closed_url):
    env = {**os.environ, "CROWDSAFE_WEIGHTS_URL": closed_url}
    result = subprocess.run(
        [sys.executable, "-m", "crowdsafe.fetch", "weights"], cwd=REPO, env=env, capture_output=True,
        text=True, timeout=60,
    )
    if fetch.WEIGHTS_PATH.exists():  # a developer's machine with the real file: nothing to fetch
        assert result.returncode == 0 and "verified" in result.stdout
        return
    assert result.returncode == 1
    assert "Could not fetch the weights: offline: 127.0.0.1:" in result.stderr
    assert fetch.WEIGHTS_URL in result.stderr and not fetch.WEIGHTS_PATH.exists()


def test_make_run_offline_falls_back_to_the_test_detector_with_one_line(
    monkeypatch, capsys, closed_url, tmp_path
):
    monkeypatch.delenv("CROWDSAFE_DETECTOR_MODEL", raising=False)
    monkeypatch.setenv("CROWDSAFE_WEIGHTS_URL", closed_url)
    fallback = tmp_path / "small_openvino_model"
    fallback.mkdir()
    started = time.monotonic()
    env = launcher._detector_env(weights=tmp_path / "yolo11s.pt", fallback=fallback)
    assert time.monotonic() - started < fetch.CONNECT_TIMEOUT_S + 1.5
    assert env == {"CROWDSAFE_DETECTOR_MODEL": str(fallback), "CROWDSAFE_DETECTOR_IMGSZ": "640"}
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and "yolo11s.pt is absent and could not be downloaded (offline:" in lines[0]
    assert not (tmp_path / "yolo11s.pt").exists()


def test_make_run_uses_present_weights_without_a_network_call(monkeypatch, capsys, closed_url, tmp_path):
    monkeypatch.delenv("CROWDSAFE_DETECTOR_MODEL", raising=False)
    monkeypatch.setenv("CROWDSAFE_WEIGHTS_URL", closed_url)
    weights = tmp_path / "yolo11s.pt"
    weights.write_bytes(b"x")
    assert launcher._detector_env(weights=weights, fallback=tmp_path) == {}
    assert capsys.readouterr().out == ""


def _fake_opencv_doc(tmp_path: Path) -> Path:
    """A real .deb laid out like opencv-doc (built with dpkg-deb), holding a small vtest.avi."""
    root = tmp_path / "pkg"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        "Package: opencv-doc\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@example.org>\n"
        "Description: test\n"
    )
    clip = root / fetch.DEMO_MEMBER
    clip.parent.mkdir(parents=True)
    clip.write_bytes(PAYLOAD)
    (clip.parent / "other.png").write_bytes(b"png")
    deb = tmp_path / "opencv-doc_1.0_all.deb"
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(root), str(deb)], check=True,
                   capture_output=True)
    return deb


@pytest.mark.skipif(not shutil.which("dpkg-deb"), reason="SKIPPED LOUDLY: dpkg-deb is missing (not Debian)")
def test_only_the_demo_clip_is_taken_out_of_the_package(tmp_path):
    deb = _fake_opencv_doc(tmp_path)
    dest = tmp_path / "var" / "demo" / "vtest.avi"
    assert fetch.extract_member(deb, fetch.DEMO_MEMBER, dest) == dest
    assert dest.read_bytes() == PAYLOAD and _leftovers(dest.parent) == ["vtest.avi"]
    with pytest.raises(fetch.FetchError, match="has no usr/share/doc/nothing"):
        fetch.extract_member(deb, "usr/share/doc/nothing", tmp_path / "x.avi")
    assert not (tmp_path / "x.avi").exists()


def test_without_apt_get_make_run_prints_the_exact_command(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv("CROWDSAFE_DEMO_VIDEO", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # neither apt-get nor dpkg-deb
    monkeypatch.setattr(launcher, "SYSTEM_DEMO_VIDEO", tmp_path / "not-installed.avi")
    monkeypatch.setattr(fetch, "DEMO_VIDEO", tmp_path / "var" / "demo" / "vtest.avi")
    assert launcher.demo_video() is None
    out = capsys.readouterr().out
    assert "apt-get and dpkg-deb are needed" in out
    assert "apt-get download opencv-doc && dpkg-deb --fsys-tarfile opencv-doc_*.deb | tar -xO " in out


def test_a_demo_clip_fetched_before_is_used(monkeypatch, tmp_path):
    monkeypatch.delenv("CROWDSAFE_DEMO_VIDEO", raising=False)
    monkeypatch.setattr(launcher, "SYSTEM_DEMO_VIDEO", tmp_path / "not-installed.avi")
    clip = tmp_path / "var" / "demo" / "vtest.avi"
    clip.parent.mkdir(parents=True)
    clip.write_bytes(b"clip")
    monkeypatch.setattr(fetch, "DEMO_VIDEO", clip)
    assert launcher.demo_video() == str(clip)
    monkeypatch.setenv("CROWDSAFE_DEMO_VIDEO", "none")
    assert launcher.demo_video() is None
