"""Settings, read from the environment with defaults that need no configuration.

Defaults: SQLite under ./data/, an embedded Redis started by `manage.py runstack`, a SECRET_KEY generated
once and kept under ./data/. See README.md for every variable.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from orchestrator.envtools import (
    env_bool,
    env_json,
    env_list,
    env_number,
    env_str,
    persistent_secret_key,
    usable_data_dir,
)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("DATA_DIR") or BASE_DIR / "data")
if not env_str("DATABASE_URL") or not env_str("SECRET_KEY"):
    # The SQLite database or the secret key file lives there: refuse an unusable folder now, in one line.
    usable_data_dir(DATA_DIR)

# Lazy unless the environment sets it (the key file is read or made on first use): str() it to pass it on.
SECRET_KEY = persistent_secret_key(DATA_DIR)
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Behind a reverse proxy (README, Security): PROXY_HEADERS=true trusts the proxy's X-Forwarded-Proto
# (a request it received over HTTPS is HTTPS here) and makes runstack's daphne take the client's address
# from X-Forwarded-For. Only with the service bound to an address the proxy alone can reach: any client
# could send these headers.
PROXY_HEADERS = env_bool("PROXY_HEADERS", False)
if PROXY_HEADERS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Served over HTTPS: the session and CSRF cookies are then never sent over plain HTTP.
SECURE_COOKIES = env_bool("SECURE_COOKIES", False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SECURE_COOKIES

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served locally: /api/docs/ works without internet access
    "axes",  # login throttling: see AXES_* below
    "orchestrator",
    "stash",
    "jobs",
    "daemons",
    "health",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "orchestrator.csp.ContentSecurityPolicy",  # the CONTENT_SECURITY_POLICY header below, on every response
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "orchestrator.roles.ReadOnlyForNonStaff",  # page POSTs need staff (the API: StaffForChanges below)
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so that it sees the login views' answers and turns a lockout into the login page's message.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "orchestrator.urls"
ASGI_APPLICATION = "orchestrator.asgi.application"

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
                "orchestrator.context.site",
                "stash.connection.context.stash",
                "health.context.health",
            ],
        },
    },
]


def _database() -> dict:
    url = env_str("DATABASE_URL")
    if not url:
        url = f"sqlite:///{DATA_DIR / 'orchestrator.sqlite3'}"
    try:
        config = dj_database_url.parse(url, conn_max_age=600, conn_health_checks=True)
    except Exception as exc:  # dj_database_url raises several types for a bad URL
        raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from exc
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # Several processes (web, worker, one host per daemon) write to one file: WAL lets readers
        # proceed during a write, the busy timeout makes writers queue instead of failing, and
        # IMMEDIATE transactions take the write lock up front so read-then-write claims are atomic.
        config["CONN_MAX_AGE"] = 0
        config["CONN_HEALTH_CHECKS"] = False
        config["OPTIONS"] = {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
        }
        # Test processes (subprocess hosts and workers) must see the test database, so it is a file;
        # TEST_RUN_ID keeps concurrent test runs apart.
        config["TEST"] = {"NAME": str(DATA_DIR / f"test-{env_str('TEST_RUN_ID', 'default')}.sqlite3")}
    else:
        config.setdefault("OPTIONS", {})
        config["OPTIONS"]["application_name"] = env_str("DB_APPLICATION_NAME", "orchestrator")
        test_name = env_str("TEST_DATABASE_NAME")
        if test_name:
            config["TEST"] = {"NAME": test_name}
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The run command starts an embedded Redis and exports REDIS_URL to its children; a process started
# any other way without REDIS_URL falls back to the usual local port.
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_host(url: str) -> dict:
    """Channel-layer connection options: fail fast and notice dead connections, so that after a Redis
    restart pooled connections to the old server are re-checked instead of hanging until a read timeout.
    (TCP keepalive exists for TCP URLs only; unix sockets refuse the option.)"""
    host = {"address": url, "socket_connect_timeout": 2, "health_check_interval": 2}
    if not url.startswith("unix:"):
        host["socket_keepalive"] = True
    return host


# Redis pub/sub: a group message is one PUBLISH, and each web process receives it once and hands it to
# its own sockets, instead of one queued copy per socket. Delivery is at most once, which our pushes
# allow: each carries the object's whole state and every (re)connect starts with a snapshot.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {
            "hosts": [redis_host(REDIS_URL)],
            # Separate deployments (and test runs) sharing one Redis must not see each other's groups.
            "prefix": env_str("CHANNEL_PREFIX", "orchestrator"),
        },
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"

# Login throttling (django-axes) on every password login (/login/, /admin/login/): after
# LOGIN_FAILURE_LIMIT wrong passwords for one account from one address, that account is refused from that
# address for LOGIN_LOCKOUT_MINUTES after the last failure (another address, or another account from the
# same address, still gets in: a typo-prone neighbour cannot lock the operator out). Unlock from the CLI:
# `manage.py axes_reset_username <name>` or `manage.py axes_reset`. Tokens (the API) are not passwords.
LOGIN_FAILURE_LIMIT = env_number("LOGIN_FAILURE_LIMIT", 5, minimum=1, integer=True)
LOGIN_LOCKOUT_MINUTES = env_number("LOGIN_LOCKOUT_MINUTES", 15, minimum=1, integer=True)
AUTHENTICATION_BACKENDS = [
    "orchestrator.lockout.LoginThrottleBackend",  # first: it refuses a locked-out login before the password check
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_CALLABLE = "orchestrator.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = True  # a successful login forgets the earlier typos
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"

REST_FRAMEWORK = {
    # Token first: an anonymous request then gets 401 with a WWW-Authenticate header, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Everyone signed in reads; changes (POST, PUT, PATCH) need staff (orchestrator/roles.py).
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "orchestrator.roles.StaffForChanges",
    ],
    # DRF's defaults, with a nesting limit on JSON (thousands of levels were a 500).
    "DEFAULT_PARSER_CLASSES": [
        "orchestrator.json_input.LimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Stash Orchestrator API",
    "VERSION": "1.0.0",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a `status` with its own choices: each gets a name of its own in the schema.
    "ENUM_NAME_OVERRIDES": {
        "DownloadFileStatusEnum": "stash.downloads.models.FileStatus",
        "PauseModeEnum": "daemons.models.PauseMode",
        "PlanStatusEnum": "stash.plans.models.PlanStatus",
        "PlanChangeStatusEnum": "stash.plans.models.ChangeStatus",
    },
}

# Daemon runtime
# A host renews its lease every DAEMON_HEARTBEAT_SECONDS; a standby takes over when the lease is older
# than DAEMON_LEASE_SECONDS.
DAEMON_HEARTBEAT_SECONDS = env_number("DAEMON_HEARTBEAT_SECONDS", 2.0, minimum=0.1)
DAEMON_LEASE_SECONDS = env_number("DAEMON_LEASE_SECONDS", 10.0, minimum=0.5)
# How often a host re-reads its row for Start/Stop/Restart and configuration changes.
DAEMON_CONTROL_POLL_SECONDS = env_number("DAEMON_CONTROL_POLL_SECONDS", 0.5, minimum=0.05)
DAEMON_RESTART_BACKOFF_MAX_SECONDS = env_number("DAEMON_RESTART_BACKOFF_MAX_SECONDS", 60.0, minimum=0.1)
# The grace of a daemon's deadline: a running daemon this long past the time its status said it would
# report next (status_next_at) is flagged stale, as is one whose host's heartbeat is older than
# DAEMON_LEASE_SECONDS. A daemon sleeping as told is never flagged, however long its interval.
DAEMON_STALE_AFTER_SECONDS = env_number("DAEMON_STALE_AFTER_SECONDS", 120, minimum=1, integer=True)
DAEMON_LOG_RETENTION_DAYS = env_number("DAEMON_LOG_RETENTION_DAYS", 14, minimum=1, integer=True)
# Status events behind the daemon timelines (one row per status a daemon reports) are kept this long.
DAEMON_TIMELINE_RETENTION_DAYS = env_number("DAEMON_TIMELINE_RETENTION_DAYS", 30, minimum=1, integer=True)

# Job workers
JOB_POLL_SECONDS = env_number("JOB_POLL_SECONDS", 0.5, minimum=0.01)
JOB_HEARTBEAT_SECONDS = env_number("JOB_HEARTBEAT_SECONDS", 5.0, minimum=0.1)
# A running job whose worker has not heartbeat for this long is recovered (failed with a clear error).
JOB_STALE_SECONDS = env_number("JOB_STALE_SECONDS", 60.0, minimum=1)
JOB_RETENTION_DAYS = env_number("JOB_RETENTION_DAYS", 30, minimum=1, integer=True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "daphne": {"level": "WARNING"},
        "axes": {"level": "WARNING"},  # every failed login at INFO is noise; lockouts are warnings
        "django.channels.server": {"level": "WARNING"},
    },
}

# How often an open live socket re-checks that its login still holds (session present, user active,
# password unchanged); it also checks before acting on each client message.
LIVE_SESSION_CHECK_SECONDS = env_number("LIVE_SESSION_CHECK_SECONDS", 2.0, minimum=0.1)

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the socket helper reads it to send CSRF headers on fetch()
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (orchestrator/csp.py) of every page: scripts and styles only from our own
# static files (no inline <script>, no on…= handlers, no style= attributes or <style> blocks: they live
# in static/), the live socket and fetch() to this origin only ('self' covers ws:/wss: to it), images
# from here or data: URIs (the admin's and Swagger UI's icons), no plugins, no framing, forms post here.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

# Where Stash is: saved on the Settings page; each of these, when set, wins over the saved value
# (stash.connection.config). Empty: not set.
STASH_URL = env_str("STASH_URL")
STASH_API_KEY = env_str("STASH_API_KEY")

# Scene covers fetched from Stash are cached under DATA_DIR/covers, up to this many megabytes.
COVER_CACHE_MAX_MB = env_number("COVER_CACHE_MAX_MB", 256, minimum=1)
# Stash sync and Stash jobs.
STASH_SYNC_PAGE_SIZE = env_number("STASH_SYNC_PAGE_SIZE", 500, minimum=1, integer=True)
# Incremental syncs re-read this many seconds before the watermark: Stash's times have 1 s resolution.
STASH_SYNC_OVERLAP_SECONDS = env_number("STASH_SYNC_OVERLAP_SECONDS", 60, minimum=0, integer=True)
STASH_JOB_POLL_SECONDS = env_number("STASH_JOB_POLL_SECONDS", 2.0, minimum=0.05)
STASH_JOB_STOP_TIMEOUT_SECONDS = env_number("STASH_JOB_STOP_TIMEOUT_SECONDS", 120.0, minimum=1)
STASH_UNREACHABLE_GIVE_UP_SECONDS = env_number("STASH_UNREACHABLE_GIVE_UP_SECONDS", 300.0, minimum=1)
# Stash daemons retry a failing Stash after this many seconds, doubling up to their own interval.
STASH_RETRY_FIRST_SECONDS = env_number("STASH_RETRY_FIRST_SECONDS", 10.0, minimum=0.1)


# Video analysis (the `analysis` job). The tagger and marker settings are on the Video analysis settings
# page; each variable below, when set, wins over the saved value (stash.analysis.config). None: not set.
# VIDEO_TAGGER_URL is the AI video tagger (POST {url}/process_video/); empty everywhere: the built-in
# ffprobe/ffmpeg analyzer. The tagger sees the library under its own paths: VIDEO_TAGGER_PATH_MAPPINGS is
# JSON, [{"local": "/srv/library", "tagger": "/media"}], applied to this machine's view of a file.
VIDEO_TAGGER_URL = env_str("VIDEO_TAGGER_URL").rstrip("/") or None
if VIDEO_TAGGER_URL and not VIDEO_TAGGER_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(f"VIDEO_TAGGER_URL must be an http:// or https:// URL, got {VIDEO_TAGGER_URL!r}")
VIDEO_TAGGER_TIMEOUT_SECONDS = env_number("VIDEO_TAGGER_TIMEOUT_SECONDS", None, minimum=1)
VIDEO_TAGGER_PATH_MAPPINGS = env_json("VIDEO_TAGGER_PATH_MAPPINGS", None)
if VIDEO_TAGGER_PATH_MAPPINGS is not None and (
    not isinstance(VIDEO_TAGGER_PATH_MAPPINGS, list)
    or not all(
        isinstance(m, dict) and set(m) == {"local", "tagger"} and all(isinstance(v, str) and v for v in m.values())
        for m in VIDEO_TAGGER_PATH_MAPPINGS
    )
):
    raise ImproperlyConfigured('VIDEO_TAGGER_PATH_MAPPINGS must be a JSON list of {"local": …, "tagger": …}')
# Seconds between the frames the tagger looks at (the default of the job's frame_interval).
VIDEO_ANALYSIS_FRAME_INTERVAL = env_number("VIDEO_ANALYSIS_FRAME_INTERVAL", None, minimum=0.1)
# The built-in analyzer: at most this many markers per scene, at scene changes or else every
# VIDEO_ANALYSIS_MARKER_INTERVAL_SECONDS; ffprobe/ffmpeg get this long per file.
VIDEO_ANALYSIS_MAX_MARKERS = env_number("VIDEO_ANALYSIS_MAX_MARKERS", None, minimum=0, integer=True)
VIDEO_ANALYSIS_MARKER_INTERVAL_SECONDS = env_number("VIDEO_ANALYSIS_MARKER_INTERVAL_SECONDS", None, minimum=1)
VIDEO_ANALYSIS_FFMPEG_TIMEOUT_SECONDS = env_number("VIDEO_ANALYSIS_FFMPEG_TIMEOUT_SECONDS", 3600.0, minimum=1)
FFPROBE_BINARY = env_str("FFPROBE_BINARY", "ffprobe")
FFMPEG_BINARY = env_str("FFMPEG_BINARY", "ffmpeg")
# A scene whose analysis failed (tagger down, unreadable file) is retried after this long, doubling per
# failure up to the maximum.
VIDEO_ANALYSIS_RETRY_FIRST_SECONDS = env_number("VIDEO_ANALYSIS_RETRY_FIRST_SECONDS", 600.0, minimum=1)
VIDEO_ANALYSIS_RETRY_MAX_SECONDS = env_number("VIDEO_ANALYSIS_RETRY_MAX_SECONDS", 86400.0, minimum=1)


# Health checks and notifications (health/): `manage.py runhealth` (a process of runstack) runs each check
# every HEALTH_CHECK_INTERVAL_SECONDS, giving one at most HEALTH_CHECK_TIMEOUT_SECONDS before it counts as
# failed, and delivers the notification outbox.
HEALTH_CHECK_INTERVAL_SECONDS = env_number("HEALTH_CHECK_INTERVAL_SECONDS", 60.0, minimum=1)
HEALTH_CHECK_TIMEOUT_SECONDS = env_number("HEALTH_CHECK_TIMEOUT_SECONDS", 15.0, minimum=0.5)
HEALTH_FIRST_DELAY_SECONDS = env_number("HEALTH_FIRST_DELAY_SECONDS", 5.0, minimum=0)
# The library folder's free space: a warning below either of the first two, an error below the third.
HEALTH_FREE_SPACE_WARNING_PERCENT = env_number("HEALTH_FREE_SPACE_WARNING_PERCENT", 10.0, minimum=0)
HEALTH_FREE_SPACE_WARNING_BYTES = env_number("HEALTH_FREE_SPACE_WARNING_BYTES", 20 * 1024**3, minimum=0, integer=True)
HEALTH_FREE_SPACE_ERROR_PERCENT = env_number("HEALTH_FREE_SPACE_ERROR_PERCENT", 2.0, minimum=0)
# One message per event kind and subject per this many minutes; the next one says how many were held back.
NOTIFY_RATE_LIMIT_MINUTES = env_number("NOTIFY_RATE_LIMIT_MINUTES", 10.0, minimum=0)
# A failed delivery is tried again after these many seconds (one entry per retry), then given up.
NOTIFY_RETRY_SECONDS = env_json("NOTIFY_RETRY_SECONDS", [30, 120, 600])
if not isinstance(NOTIFY_RETRY_SECONDS, list) or not all(
    isinstance(n, int | float) and not isinstance(n, bool) and n >= 0 for n in NOTIFY_RETRY_SECONDS
):
    raise ImproperlyConfigured("NOTIFY_RETRY_SECONDS must be a JSON list of seconds, e.g. [30, 120, 600]")
# How often the sender looks at the outbox when no wake-up came (Redis down).
NOTIFY_POLL_SECONDS = env_number("NOTIFY_POLL_SECONDS", 5.0, minimum=0.05)
# This site's address as people reach it (e.g. http://nas:8000): notifications then carry full links.
SITE_URL = env_str("SITE_URL").rstrip("/")
