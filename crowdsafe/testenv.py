"""Run a command (ruff, pytest, a benchmark) with a Redis that answers.

`python -m crowdsafe.testenv CMD ...`: uses REDIS_URL when it answers, otherwise starts a
private Redis for the duration of the command. Exits with the command's status.
"""

from __future__ import annotations

import os
import subprocess
import sys

from crowdsafe.devtools import ensure_redis


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m crowdsafe.testenv COMMAND [ARGS...]", file=sys.stderr)
        return 2
    url, _proc = ensure_redis()
    env = {**os.environ, "REDIS_URL": url}
    return subprocess.call(argv, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
