"""Run a command (ruff, pytest, a benchmark) with a Redis of its own.

`python -m crowdsafe.testenv CMD ...`: with REDIS_URL set (CI), that Redis; otherwise a
private `redis-server` started for the duration of the command, so `make test` never shares a
database with a running `make run` (without redis-server installed: database 1 of the local
Redis). Either way the tests put every key under a prefix of their own (tests/pytest_env.py).
Exits with the command's status.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from urllib.parse import urlparse, urlunparse

from crowdsafe.devtools import ensure_redis, start_private_redis

FALLBACK_DB = 1  # `make run` uses 0


def test_redis_url() -> tuple[str, subprocess.Popen | None]:
    """The Redis for a test run (see the module text)."""
    if "REDIS_URL" in os.environ:
        return ensure_redis()
    if shutil.which("redis-server"):
        return start_private_redis()
    url, proc = ensure_redis()
    return urlunparse(urlparse(url)._replace(path=f"/{FALLBACK_DB}")), proc


test_redis_url.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m crowdsafe.testenv COMMAND [ARGS...]", file=sys.stderr)
        return 2
    url, _proc = test_redis_url()
    env = {**os.environ, "REDIS_URL": url}
    return subprocess.call(argv, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
