"""Fetch what a first local run needs: the YOLO11s weights and the demo clip (`make` only).

- `python -m crowdsafe.fetch weights` (`make weights`): downloads `yolo11s.pt` from Ultralytics'
  GitHub release into models/ with a progress bar and checks its sha256 against the one
  below; a bad or partial file is never left behind.
- `python -m crowdsafe.fetch demo`: Debian's `vtest.avi` without root: `apt-get download
  opencv-doc` into a temporary folder and only that file extracted into var/demo/.

Never used by the product at run time. Offline, each says so in one line within seconds:
the host is looked up and connected to under a short time limit before anything starts.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
WEIGHTS_PATH = ROOT / "models" / "yolo11s.pt"
WEIGHTS_URL = "https://github.com/ultralytics/assets/releases/download/v8.3.0/yolo11s.pt"
# sha256 of Ultralytics' yolo11s.pt, release v8.3.0.
WEIGHTS_SHA256 = "85a76fe86dd8afe384648546b56a7a78580c7cb7b404fc595f97969322d502d5"
CONNECT_TIMEOUT_S = 4.0
READ_TIMEOUT_S = 30.0  # a download silent this long is abandoned

DEMO_PACKAGE = "opencv-doc"
DEMO_MEMBER = "usr/share/doc/opencv-doc/examples/data/vtest.avi"
SYSTEM_DEMO_VIDEO = Path("/") / DEMO_MEMBER
DEMO_VIDEO = ROOT / "var" / "demo" / "vtest.avi"
DEMO_COMMAND = (
    f"(d=$(mktemp -d) && cd $d && apt-get download {DEMO_PACKAGE} && "
    f"dpkg-deb --fsys-tarfile {DEMO_PACKAGE}_*.deb | tar -xO ./{DEMO_MEMBER} > {DEMO_VIDEO})"
)


class FetchError(Exception):
    """A download or extraction that did not give the expected file; the message says why."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def reachable(url: str, timeout_s: float = CONNECT_TIMEOUT_S) -> str | None:
    """None when the URL's host (or the proxy for it) answers a TCP connect within `timeout_s`,
    name lookup included, which a socket timeout does not bound: hence the thread. Otherwise
    the reason."""
    parts = urlsplit(url)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(parts.hostname or ""):
        parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    outcome: list[str | None] = []

    def probe() -> None:
        try:
            with socket.create_connection((parts.hostname or "", port), timeout=timeout_s):
                outcome.append(None)
        except OSError as exc:
            outcome.append(f"{parts.hostname}:{port} unreachable ({exc.strerror or type(exc).__name__})")

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout_s + 0.5)
    return outcome[0] if outcome else f"{parts.hostname}:{port} did not answer within {timeout_s:.0f} s"


def download(url: str, dest: Path, sha256: str, *, progress: bool = True) -> Path:
    """Stream `url` to `dest` through a temporary file, check its sha256, then move it in place.

    Raises FetchError (and leaves nothing at `dest` or beside it) on any failure.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".part")
    digest = hashlib.sha256()
    try:
        with requests.get(url, stream=True, timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S)) as response:
            if response.status_code != 200:
                raise FetchError(f"{url} answered {response.status_code} {response.reason}")
            total = int(response.headers.get("Content-Length") or 0) or None
            with open(partial, "wb") as out, _progress_bar(total, dest.name, progress) as bar:
                for chunk in response.iter_content(chunk_size=1 << 16):
                    out.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
        if digest.hexdigest() != sha256:
            raise FetchError(
                f"checksum mismatch for {url}: got sha256 {digest.hexdigest()}, expected {sha256}; "
                "the file was discarded"
            )
        partial.replace(dest)
        return dest
    except requests.RequestException as exc:
        raise FetchError(f"download of {url} failed: {type(exc).__name__}: {exc}") from exc
    finally:
        partial.unlink(missing_ok=True)


def _progress_bar(total: int | None, name: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=name, disable=not enabled)


def fetch_weights(
    url: str | None = None, dest: Path | None = None, sha256: str = WEIGHTS_SHA256, progress: bool = True
) -> Path:
    """`make weights`: yolo11s.pt in models/, checked. FetchError when offline or wrong.

    CROWDSAFE_WEIGHTS_URL names a mirror; the file must still be the one with our checksum.
    """
    url = url or os.environ.get("CROWDSAFE_WEIGHTS_URL") or WEIGHTS_URL
    dest = dest or WEIGHTS_PATH
    if dest.exists():
        if sha256_of(dest) == sha256:
            return dest
        raise FetchError(
            f"{dest} exists but is not Ultralytics' yolo11s.pt (sha256 differs); "
            "remove it to download the official file"
        )
    problem = reachable(url)
    if problem:
        raise FetchError(f"offline: {problem}")
    return download(url, dest, sha256, progress=progress)


# --- the demo clip ------------------------------------------------------------------------------


def extract_member(deb: Path, member: str, dest: Path) -> Path:
    """Copy one file out of a .deb (dpkg-deb's data archive) to `dest`, without root."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".part")
    try:
        # stderr dropped: dpkg-deb complains of a broken pipe when we stop reading at our file.
        command = ["dpkg-deb", "--fsys-tarfile", str(deb)]
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as proc:
            with tarfile.open(fileobj=proc.stdout, mode="r|") as archive:
                for entry in archive:
                    if entry.isfile() and entry.name.lstrip("./") == member:
                        source = archive.extractfile(entry)
                        with open(partial, "wb") as out:
                            shutil.copyfileobj(source, out)
                        break
                else:
                    raise FetchError(f"{deb.name} has no {member}")
            proc.stdout.close()
        partial.replace(dest)
        return dest
    except (OSError, tarfile.TarError) as exc:
        raise FetchError(f"could not extract {member} from {deb.name}: {exc}") from exc
    finally:
        partial.unlink(missing_ok=True)


def fetch_demo_video(
    dest: Path | None = None, package: str = DEMO_PACKAGE, member: str = DEMO_MEMBER
) -> Path:
    """Debian's demo clip without root; FetchError with the reason otherwise."""
    dest = dest or DEMO_VIDEO
    if dest.exists():
        return dest
    apt_get = shutil.which("apt-get")
    if not apt_get or not shutil.which("dpkg-deb"):
        raise FetchError("apt-get and dpkg-deb are needed (Debian or Ubuntu)")
    with tempfile.TemporaryDirectory(prefix="crowdsafe-demo-") as workdir:
        print(f"Fetching the demo clip: apt-get download {package} (about 90 MB), then only vtest.avi…")
        result = subprocess.run(
            [apt_get, "download", "-q", "-o", "Acquire::Retries=0", "-o", "Acquire::http::Timeout=10",
             "-o", "Acquire::https::Timeout=10", package],
            cwd=workdir, capture_output=True, text=True, timeout=900,
        )
        debs = sorted(Path(workdir).glob(f"{package}_*.deb"))
        if result.returncode != 0 or not debs:
            reason = (result.stderr.strip().splitlines() or ["no package downloaded"])[-1]
            raise FetchError(f"apt-get download {package} failed: {reason}")
        return extract_member(debs[0], member, dest)


def main(argv: list[str]) -> int:
    what = argv[0] if argv else ""
    try:
        if what == "weights":
            path = fetch_weights()
            print(f"{path.relative_to(ROOT)} is in place (sha256 {WEIGHTS_SHA256[:12]}… verified).")
        elif what == "demo":
            print(f"{fetch_demo_video().relative_to(ROOT)} is in place.")
        else:
            print("usage: python -m crowdsafe.fetch weights|demo", file=sys.stderr)
            return 2
    except (FetchError, subprocess.SubprocessError) as exc:
        print(f"Could not fetch the {what}: {exc}", file=sys.stderr)
        if what == "weights":
            print(f"Copy yolo11s.pt from {WEIGHTS_URL} to {WEIGHTS_PATH} by hand.", file=sys.stderr)
        else:
            print(f"Without root: {DEMO_COMMAND}\nOr: sudo apt-get install {DEMO_PACKAGE}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
