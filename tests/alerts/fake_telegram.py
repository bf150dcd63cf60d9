"""A small fake Telegram Bot API: a real HTTP server on 127.0.0.1 that records what it gets.

It answers like Telegram: ``{"ok": true, "result": ...}``, or scripted failures (429 with
``parameters.retry_after``, 400, 5xx). Captions and texts sent with parse_mode HTML are
parsed as strictly as Telegram does (only its tags, only its entities, balanced); a bad one
gets Telegram's 400 "can't parse entities". Each request's rendered text is recorded.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from tests.support import wait_for

ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "tg-spoiler",
    "span",
    "blockquote",
}
ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class EntityError(ValueError):
    pass


class _TelegramHTML(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.text: list[str] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED_TAGS:
            raise EntityError(f'Unsupported start tag "{tag}"')
        self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            raise EntityError(f'Unexpected end tag "{tag}"')
        self.stack.pop()

    def handle_data(self, data):
        if "<" in data or "&" in data:
            raise EntityError("Unsupported start tag or unescaped character")
        self.text.append(data)

    def handle_entityref(self, name):
        if name not in ENTITIES:
            raise EntityError(f'Unsupported entity "{name}"')
        self.text.append(ENTITIES[name])

    def handle_charref(self, name):
        self.text.append(chr(int(name[1:], 16) if name.lower().startswith("x") else int(name)))


def render_html(markup: str) -> str:
    """The text a Telegram user sees, or EntityError as Telegram would refuse it."""
    parser = _TelegramHTML()
    parser.feed(markup)
    parser.close()
    if parser.rawdata:
        raise EntityError("Unclosed markup at the end")
    if parser.stack:
        raise EntityError(f'Unclosed tag "{parser.stack[-1]}"')
    return "".join(parser.text)


@dataclass
class Request:
    at: float  # time.monotonic()
    token: str
    method: str
    fields: dict[str, str]
    files: dict[str, bytes]
    rendered: str | None = None  # caption/text as the user would read it


@dataclass
class FakeTelegram:
    url: str = ""
    requests: list[Request] = field(default_factory=list)
    # Scripted answers, used in order before the default success: (status, body dict).
    script: list[tuple[int, dict]] = field(default_factory=list)
    valid_tokens: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    release: threading.Event = field(default_factory=threading.Event)

    def answer_429(self, retry_after: int = 1) -> None:
        self.script.append(
            (
                429,
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {retry_after}",
                    "parameters": {"retry_after": retry_after},
                },
            )
        )

    def hang_next(self) -> None:
        """The next request gets no answer until `release` is set (a worker dies meanwhile)."""
        self.script.append((0, {}))

    def answer_error(self, status: int, description: str) -> None:
        self.script.append((status, {"ok": False, "error_code": status, "description": description}))

    def wait_for(self, n: int, timeout: float = 30.0) -> list[Request]:
        """The requests so far, once there are at least `n`."""

        def arrived() -> list[Request] | None:
            with self.lock:
                return list(self.requests) if len(self.requests) >= n else None

        got = lambda: f"got {len(self.requests)}"  # noqa: E731
        return wait_for(arrived, timeout, 0.05, what=f"{n} requests", detail=got)


def _parse_body(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, bytes]]:
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    if content_type.startswith("multipart/form-data"):
        message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if part.get_filename():
                files[name] = payload
            else:
                fields[name] = payload.decode()
    elif content_type.startswith("application/json"):
        fields = {k: str(v) for k, v in json.loads(body or b"{}").items()}
    else:
        fields = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
    return fields, files


def start_fake_telegram() -> tuple[FakeTelegram, ThreadingHTTPServer]:
    fake = FakeTelegram()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep the test output clean
            pass

        def do_POST(self):
            parts = self.path.strip("/").split("/")
            token = parts[0][3:] if parts and parts[0].startswith("bot") else ""
            method = parts[1] if len(parts) > 1 else ""
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            fields, files = _parse_body(self.headers.get("Content-Type", ""), body)
            request = Request(time.monotonic(), token, method, fields, files)
            with fake.lock:
                fake.requests.append(request)
                scripted = fake.script.pop(0) if fake.script else None
            if scripted is not None and scripted[0] == 0:
                fake.release.wait(60)
                return None  # the connection closes with no answer
            if scripted is not None:
                return self._send(*scripted)
            if fake.valid_tokens and token not in fake.valid_tokens:
                return self._send(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
            markup = fields.get("caption", fields.get("text", ""))
            if fields.get("parse_mode") == "HTML":
                try:
                    request.rendered = render_html(markup)
                except EntityError as exc:
                    return self._send(
                        400,
                        {
                            "ok": False,
                            "error_code": 400,
                            "description": f"Bad Request: can't parse entities: {exc}",
                        },
                    )
            else:
                request.rendered = markup
            self._send(200, {"ok": True, "result": {"message_id": len(fake.requests)}})

        def _send(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return fake, server
