"""CrowdSafe settings, read from the environment (and an optional `.env` file).

Every variable is documented in `.env.example` and in the README's configuration table.
Defaults are for a first local run (SQLite, DEBUG on); production (DEBUG off) refuses to
start without a real SECRET_KEY.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
_env_file = Path(environ.Env().str("CROWDSAFE_ENV_FILE", default=str(BASE_DIR / ".env")))
if _env_file.is_file():
    environ.Env.read_env(_env_file, overwrite=False)

# --- core -------------------------------------------------------------------------------

DEBUG = env.bool("DEBUG", default=False)
DEV_SECRET_KEY = "django-insecure-crowdsafe-development-only"
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY if DEBUG else "")
if not DEBUG and (not SECRET_KEY or SECRET_KEY.startswith("django-insecure")):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a long random value when DEBUG is off "
        '(e.g. python -c "import secrets; print(secrets.token_urlsafe(50))").'
    )
if not DEBUG and len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters long in production.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI / Redoc assets served locally, never from a CDN
    "django_htmx",
    "core",
    "accounts",
    "cameras",
    "analytics",
    "alerts",
    "reports",
]

MIDDLEWARE = [
    "crowdsafe.limits.RequestSizeMiddleware",  # 413 on a declared oversize body, before anything reads it
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "crowdsafe.limits.AnonymousMultipartMiddleware",  # runs before CSRF would parse the body
    "accounts.throttle.FormLoginThrottleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "core.outages.OutageMiddleware",  # a Redis/broker outage in a view: 503, never 500
]

ROOT_URLCONF = "crowdsafe.urls"
ASGI_APPLICATION = "crowdsafe.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "crowdsafe.context_processors.crowdsafe",
            ],
        },
    },
]

# --- data -------------------------------------------------------------------------------

VAR_DIR = Path(env.str("CROWDSAFE_VAR_DIR", default=str(BASE_DIR / "var")))
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'crowdsafe.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # A file (not :memory:) so the Celery worker started by tests shares the test database;
    # WAL and a busy timeout let the web process and workers write side by side.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
# Every Redis key, channel-layer group, cache entry and (when not the default) Celery queue of
# this installation lives under this prefix; each test run uses its own (tests/pytest_env.py),
# so `make test` never shares queues, groups, leases or state with a running `make run`.
DEFAULT_REDIS_KEY_PREFIX = "crowdsafe"
REDIS_KEY_PREFIX = env.str("CROWDSAFE_REDIS_PREFIX", default=DEFAULT_REDIS_KEY_PREFIX)
if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", REDIS_KEY_PREFIX):
    raise ImproperlyConfigured("CROWDSAFE_REDIS_PREFIX: 1 to 64 letters, digits or _ . - only.")
CACHES = {
    "default": {
        # Fails open (misses) while Redis is away: sessions fall back to the database.
        "BACKEND": "core.cache.FailOpenRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": REDIS_KEY_PREFIX,
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}
CHANNEL_LAYERS = {
    "default": {
        # Drops its connections on a Redis error, so websockets work again once Redis is back.
        "BACKEND": "core.channel_layer.ResilientRedisChannelLayer",
        "CONFIG": {
            "hosts": [{
                "address": REDIS_URL, "socket_connect_timeout": 2, "socket_timeout": 10,
                "socket_keepalive": True, "health_check_interval": 10,
            }],
            "prefix": f"{REDIS_KEY_PREFIX}:asgi", "capacity": 200, "expiry": 10,
        },
    }
}
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- auth -------------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Websockets and MJPEG streams check their user again this often (deactivated, demoted, logged out).
CROWDSAFE_LIVE_AUTH_RECHECK_S = env.float("CROWDSAFE_LIVE_AUTH_RECHECK_S", default=5.0)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# --- time -------------------------------------------------------------------------------

USE_TZ = True
TIME_ZONE = env.str("CROWDSAFE_TIME_ZONE", default="UTC")  # display zone; storage is UTC
LANGUAGE_CODE = "en-gb"
USE_I18N = False

# --- files ------------------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Serve static files straight from the app folders too, so a first run needs no collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
UPLOAD_DIR = MEDIA_ROOT / "uploads"
RECORDINGS_DIR = MEDIA_ROOT / "recordings"
SNAPSHOTS_DIR = MEDIA_ROOT / "snapshots"
# Behind nginx: the internal location that serves MEDIA_ROOT (deploy/nginx.conf), e.g.
# "/protected-media/". Django then answers downloads with X-Accel-Redirect (core/media.py).
CROWDSAFE_MEDIA_ACCEL_PREFIX = env.str("CROWDSAFE_MEDIA_ACCEL_PREFIX", default="")
if CROWDSAFE_MEDIA_ACCEL_PREFIX and not (
    CROWDSAFE_MEDIA_ACCEL_PREFIX.startswith("/") and CROWDSAFE_MEDIA_ACCEL_PREFIX.endswith("/")
):
    raise ImproperlyConfigured(
        "CROWDSAFE_MEDIA_ACCEL_PREFIX must start and end with '/', e.g. /protected-media/."
    )
CROWDSAFE_MAX_UPLOAD_MB = env.int("CROWDSAFE_MAX_UPLOAD_MB", default=500)
# An upload is decoded by a child process (cameras.probe) that gets this long.
CROWDSAFE_UPLOAD_PROBE_TIMEOUT_S = env.int("CROWDSAFE_UPLOAD_PROBE_TIMEOUT_S", default=60)
# Uploads stream to temporary files; only this much is ever held in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- retention (days; 0 keeps forever) ---------------------------------------------------

CROWDSAFE_METRICS_RETENTION_DAYS = env.int("CROWDSAFE_METRICS_RETENTION_DAYS", default=90)
CROWDSAFE_RECORDINGS_RETENTION_DAYS = env.int("CROWDSAFE_RECORDINGS_RETENTION_DAYS", default=7)
CROWDSAFE_LOGS_RETENTION_DAYS = env.int("CROWDSAFE_LOGS_RETENTION_DAYS", default=90)
CROWDSAFE_RECORDING_SEGMENT_SECONDS = env.int("CROWDSAFE_RECORDING_SEGMENT_SECONDS", default=300)

# --- camera runtime (read by cameras/runtime/conf.py; README "Configuration") --------------------

CROWDSAFE_CAMERA_LEASE_TTL_S = env.float("CROWDSAFE_CAMERA_LEASE_TTL_S", default=15.0)
CROWDSAFE_CAMERA_HEARTBEAT_S = env.float("CROWDSAFE_CAMERA_HEARTBEAT_S", default=2.0)
CROWDSAFE_NO_FRAME_WATCHDOG_S = env.float("CROWDSAFE_NO_FRAME_WATCHDOG_S", default=20.0)
CROWDSAFE_SOURCE_OPEN_TIMEOUT_S = env.float("CROWDSAFE_SOURCE_OPEN_TIMEOUT_S", default=10.0)
CROWDSAFE_RECONNECT_INITIAL_S = env.float("CROWDSAFE_RECONNECT_INITIAL_S", default=1.0)
CROWDSAFE_RECONNECT_MAX_S = env.float("CROWDSAFE_RECONNECT_MAX_S", default=30.0)
CROWDSAFE_SLOT_RELEASE_BACKOFF_S = env.float("CROWDSAFE_SLOT_RELEASE_BACKOFF_S", default=8.0)
CROWDSAFE_PACE_FILES = env.bool("CROWDSAFE_PACE_FILES", default=False)
CROWDSAFE_LIVE_PUSH_HZ = env.float("CROWDSAFE_LIVE_PUSH_HZ", default=2.0)
CROWDSAFE_LIVE_FRAME_HZ = env.float("CROWDSAFE_LIVE_FRAME_HZ", default=15.0)
CROWDSAFE_LIVE_JPEG_QUALITY = env.int("CROWDSAFE_LIVE_JPEG_QUALITY", default=80)
CROWDSAFE_LIVE_MAX_WIDTH = env.int("CROWDSAFE_LIVE_MAX_WIDTH", default=1280)
CROWDSAFE_RECORDINGS_ENABLED = env.bool("CROWDSAFE_RECORDINGS_ENABLED", default=True)
# Cameras one streams worker process hosts (crowdsafe/streams_worker.py): 1 = a process per
# camera; N > 1 = N cameras in threads of one process, sharing one batching detector.
CROWDSAFE_CAMERAS_PER_PROCESS = env.int("CROWDSAFE_CAMERAS_PER_PROCESS", default=1)
# Decode each camera's source in a child process of its own (cameras/capture.py): a decoder
# crash or hang then costs that camera only. On by default where a process hosts several cameras.
CROWDSAFE_DECODE_ISOLATION = env.bool("CROWDSAFE_DECODE_ISOLATION", default=CROWDSAFE_CAMERAS_PER_PROCESS > 1)
CROWDSAFE_RECORDING_MIN_FREE_MB = env.int("CROWDSAFE_RECORDING_MIN_FREE_MB", default=200)
# Event clips (alerts/clips.py): seconds of video before and after an alert's trigger.
CROWDSAFE_EVENT_CLIPS_ENABLED = env.bool("CROWDSAFE_EVENT_CLIPS_ENABLED", default=True)
CROWDSAFE_EVENT_CLIP_PRE_S = env.float("CROWDSAFE_EVENT_CLIP_PRE_S", default=10.0)
CROWDSAFE_EVENT_CLIP_POST_S = env.float("CROWDSAFE_EVENT_CLIP_POST_S", default=20.0)
for _name, _lo, _hi in (
    ("CROWDSAFE_CAMERA_LEASE_TTL_S", 1, 600),
    ("CROWDSAFE_CAMERA_HEARTBEAT_S", 0.1, 60),
    ("CROWDSAFE_NO_FRAME_WATCHDOG_S", 1, 3600),
    ("CROWDSAFE_SOURCE_OPEN_TIMEOUT_S", 1, 600),
    ("CROWDSAFE_RECONNECT_INITIAL_S", 0.1, 600),
    ("CROWDSAFE_RECONNECT_MAX_S", 0.1, 3600),
    ("CROWDSAFE_SLOT_RELEASE_BACKOFF_S", 0.1, 3600),
    ("CROWDSAFE_LIVE_PUSH_HZ", 0.1, 30),
    ("CROWDSAFE_LIVE_FRAME_HZ", 0.1, 60),
    ("CROWDSAFE_LIVE_JPEG_QUALITY", 10, 100),
    ("CROWDSAFE_LIVE_MAX_WIDTH", 160, 7680),
    ("CROWDSAFE_RECORDING_SEGMENT_SECONDS", 5, 86400),
    ("CROWDSAFE_RECORDING_MIN_FREE_MB", 0, 10**9),
    ("CROWDSAFE_CAMERAS_PER_PROCESS", 1, 256),
    ("CROWDSAFE_EVENT_CLIP_PRE_S", 0, 60),
    ("CROWDSAFE_EVENT_CLIP_POST_S", 1, 120),
):
    if not _lo <= globals()[_name] <= _hi:
        raise ImproperlyConfigured(f"{_name}={globals()[_name]} is outside {_lo}..{_hi}.")
if CROWDSAFE_CAMERA_HEARTBEAT_S * 2 > CROWDSAFE_CAMERA_LEASE_TTL_S:
    raise ImproperlyConfigured(
        "CROWDSAFE_CAMERA_HEARTBEAT_S must be at most half of CROWDSAFE_CAMERA_LEASE_TTL_S: "
        "the lease is renewed at each heartbeat and would expire between two."
    )

# --- detector ---------------------------------------------------------------------------

CROWDSAFE_DETECTOR_MODEL = env.str(
    "CROWDSAFE_DETECTOR_MODEL", default=str(BASE_DIR / "models" / "yolo11s.pt")
)
CROWDSAFE_DETECTOR_DEVICE = env.str("CROWDSAFE_DETECTOR_DEVICE", default="auto")
CROWDSAFE_DETECTOR_IMGSZ = env.int("CROWDSAFE_DETECTOR_IMGSZ", default=960)
CROWDSAFE_DETECTOR_CONF = env.float("CROWDSAFE_DETECTOR_CONF", default=0.25)
CROWDSAFE_DETECTOR_IOU = env.float("CROWDSAFE_DETECTOR_IOU", default=0.5)
CROWDSAFE_DETECTOR_ALLOW_DOWNLOAD = env.bool("CROWDSAFE_DETECTOR_ALLOW_DOWNLOAD", default=False)
CROWDSAFE_DETECTOR_HALF = env.bool("CROWDSAFE_DETECTOR_HALF", default=True)  # fp16 on CUDA only
# Tiled frames also go through the detector mirrored (about 2× a tiled frame's detector time).
CROWDSAFE_TILE_MIRROR = env.bool("CROWDSAFE_TILE_MIRROR", default=True)
for _name, _value, _lo, _hi in (
    ("CROWDSAFE_DETECTOR_CONF", CROWDSAFE_DETECTOR_CONF, 0.01, 0.99),
    ("CROWDSAFE_DETECTOR_IOU", CROWDSAFE_DETECTOR_IOU, 0.05, 0.95),
    ("CROWDSAFE_DETECTOR_IMGSZ", CROWDSAFE_DETECTOR_IMGSZ, 160, 4096),
):
    if not _lo <= _value <= _hi:
        raise ImproperlyConfigured(f"{_name}={_value} is outside {_lo}..{_hi}.")

# --- frame path ------------------------------------------------------------------------

# The sinks every camera runner feeds, in this order (registered by their apps, see
# cameras/runtime/sinks.py). Not an environment setting: a deployment never turns alerts off here.
CROWDSAFE_FRAME_SINKS = ["recording", "live_frame", "metrics", "alerts", "event_clips", "live_push"]

# --- notifications ----------------------------------------------------------------------

# Initial values; admins change them at run time (Settings page / admin), stored in the DB.
TELEGRAM_BOT_TOKEN = env.str("TELEGRAM_BOT_TOKEN", default="")
TELEGRAM_CHAT_IDS = env.list("TELEGRAM_CHAT_IDS", default=[])
TELEGRAM_API_BASE = env.str("TELEGRAM_API_BASE", default="https://api.telegram.org")
# Where users reach this installation (e.g. https://crowdsafe.example.org): Telegram messages
# link to the alert's page under it. Empty: messages carry no link.
CROWDSAFE_PUBLIC_URL = env.str("CROWDSAFE_PUBLIC_URL", default="").rstrip("/")
if CROWDSAFE_PUBLIC_URL and not CROWDSAFE_PUBLIC_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(
        "CROWDSAFE_PUBLIC_URL must be an absolute http(s) URL, e.g. https://crowdsafe.example.org."
    )

# --- Celery -----------------------------------------------------------------------------

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "cameras.tasks.run_camera": {"queue": "streams", "exchange": "streams", "routing_key": "streams"}
}
CELERY_TASK_ACKS_LATE = False  # camera runners are reconciled by beat, never redelivered
# Tasks with acks_late (Telegram sends) that a dead worker never acknowledged are queued again
# after this many seconds; it must exceed the longest send (90 s of retries per chat).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CROWDSAFE_BROKER_VISIBILITY_TIMEOUT", default=900),
    "unacked_restore_interval": 10,  # each worker looks for such messages every 10 s
    "unacked_restore_throttle": 1,
}
if REDIS_KEY_PREFIX != DEFAULT_REDIS_KEY_PREFIX:
    # Queues, unacked messages and control (pidbox) channels under the prefix too. The default
    # keeps Celery's plain names, so messages queued before an upgrade are not stranded.
    CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = f"{REDIS_KEY_PREFIX}:"
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A worker takes a message only when it has a free process: otherwise a worker whose only
# process runs (or is frozen in) a camera reserves the next runner and sits on it, and the
# camera waits for the pending start to expire (83 s in the chaos suite) instead of seconds.
CELERY_WORKER_DISABLE_PREFETCH = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BEAT_SCHEDULE: dict = {}  # filled by crowdsafe.celery from each app's schedule

# --- DRF / JWT / OpenAPI -----------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.IsViewer"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
    # Trust X-Forwarded-For only through this many proxies (nginx in docker-compose: 1).
    "NUM_PROXIES": env.int("CROWDSAFE_NUM_PROXIES", default=0) or None,
    "DEFAULT_THROTTLE_RATES": {
        "login": env.str("CROWDSAFE_LOGIN_THROTTLE", default="10/min"),
        "health": env.str("CROWDSAFE_HEALTH_THROTTLE", default="60/min"),
    },
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_ACCESS_SECONDS", default=900)),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_REFRESH_SECONDS", default=604800)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CrowdSafe API",
    "DESCRIPTION": "Crowd density monitoring and crush-risk alerting.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "AlertLevelEnum": "alerts.models.AlertLevel",
        "AlertStatusEnum": "alerts.models.AlertStatus",
        "CameraStatusEnum": "cameras.models.CameraStatus",
        "LogLevelEnum": "core.models.SystemLog.Level",
        "OkErrorEnum": [("ok", "ok"), ("error", "error")],
    },
}

# --- security (production) --------------------------------------------------------------

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
SECURE_REDIRECT_EXEMPT = [r"^api/system/health/?$"]
X_FRAME_OPTIONS = "DENY"

# --- logging ----------------------------------------------------------------------------

LOG_LEVEL = env.str("CROWDSAFE_LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        # Warnings and errors of the platform land in the SystemLog table for admins.
        "database": {"class": "core.logging.DatabaseLogHandler", "level": "WARNING"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        **{
            name: {"handlers": ["console", "database"], "level": LOG_LEVEL, "propagate": False}
            for name in ("crowdsafe", "core", "accounts", "cameras", "analytics", "alerts", "reports")
        },
        # HTTP client libraries log request lines at DEBUG, and Telegram's carry the bot token
        # (POST /bot<token>/sendMessage): never below WARNING, whatever CROWDSAFE_LOG_LEVEL says.
        **{name: {"level": "WARNING"} for name in ("urllib3", "requests", "httpx", "httpcore")},
    },
}
