"""The deployment files keep the proxy chain honest (issue #12 point 6)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _web_command_and_env() -> tuple[list[str], dict]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return compose["services"]["web"]["command"], compose["x-app"]["environment"]


def test_uvicorn_trusts_forwarded_headers_only_from_the_proxy():
    command, env = _web_command_and_env()
    assert "*" not in command and "--forwarded-allow-ips" not in command
    assert env["FORWARDED_ALLOW_IPS"] != "*" and "*" not in env["FORWARDED_ALLOW_IPS"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert '"*"' not in dockerfile and "ENV FORWARDED_ALLOW_IPS=127.0.0.1" in dockerfile


def test_nginx_passes_the_original_scheme_and_limits_sign_ins():
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert re.search(r"map \$http_x_forwarded_proto \$forwarded_proto", conf)
    assert "X-Forwarded-Proto $scheme" not in conf
    assert conf.count("X-Forwarded-Proto $forwarded_proto") >= 3
    assert re.search(r"limit_req_zone .* zone=crowdsafe_login:\S+ rate=\d+r/m;", conf)
    login = re.search(r"location ~ \^/\(login\|admin/login\|api/auth/login\)/\$ \{(.*?)\}", conf, re.S)
    assert login and "limit_req zone=crowdsafe_login" in login.group(1)
