"""`python -m crowdsafe.streams_worker [celery worker options]`: the camera worker (queue
"streams"), pooled as `CROWDSAFE_CAMERAS_PER_PROCESS` says.

1 (the default): one process per camera (Celery prefork, `-c` cameras), each with its own
detector. N > 1: one process hosts N cameras in threads (`-P threads -c N`, any `-c` given is
replaced) against one shared detector that batches their frames (analytics.engine.batching);
run more such workers for more cameras. Celery still places one task per camera, with the same
leases and reconcile either way.
"""

from __future__ import annotations

import os
import sys

from django.conf import settings


def worker_argv(options: list[str]) -> list[str]:
    per_process = settings.CROWDSAFE_CAMERAS_PER_PROCESS
    argv = [sys.executable, "-m", "celery", "-A", "crowdsafe", "worker", "-Q", "streams"]
    if per_process <= 1:
        return [*argv, "-P", "prefork", *options]
    kept, skip = [], False
    for option in options:
        if skip:
            skip = False
        elif option in ("-c", "--concurrency"):
            skip = True
        elif not option.startswith("--concurrency="):
            kept.append(option)
    return [*argv, "-P", "threads", "-c", str(per_process), *kept]


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crowdsafe.settings")
    argv = worker_argv(sys.argv[1:])
    os.execv(argv[0], argv)
