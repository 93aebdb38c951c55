"""Settings for Sigma Playground.

Every value comes from the environment and is parsed strictly (see env.py). With nothing set, the site
runs on the embedded default: SQLite, local-memory cache, in-memory channel layer, Celery tasks run
eagerly, local media and console email. `DATABASE_URL` and `REDIS_URL` switch the real services on.
The README has the full table of variables.
"""

from __future__ import annotations

import re
from datetime import timedelta
from email.utils import getaddresses
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from .connections import check_budget as check_connection_budget
from .connections import plan as connection_plan
from .env import Env, RedisLocation
from .observability.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"  # local state of the embedded default: SQLite file, uploaded media

env = Env()

# --- Core -----------------------------------------------------------------------------------------

DEBUG = env.bool("DEBUG", default=False)

_DEV_SECRET_KEY = "dev-only-secret-key-never-used-when-debug-is-off"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else "")
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)

if not DEBUG:
    # Production refuses to start half-configured rather than run with a guessable key.
    if len(SECRET_KEY) < 50 or SECRET_KEY == _DEV_SECRET_KEY or len(set(SECRET_KEY)) < 5:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set to a random value of at least 50 characters when DEBUG is off "
            '(python -c "import secrets; print(secrets.token_urlsafe(64))").'
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "ALLOWED_HOSTS must list the site's host names (comma-separated) when DEBUG is off."
        )

# The site's own origin (scheme://host[:port]): absolute links in pages shared by every reader (a
# workbook's canonical, og:url, share link and embed snippet) are built from it, never from the Host
# a request sent, since any name in ALLOWED_HOSTS would otherwise reach every reader of the copy.
_site_hosts = [host for host in ALLOWED_HOSTS if not host.startswith((".", "*"))]
SITE_URL = env.str(
    "SITE_URL",
    default="http://127.0.0.1:8000" if DEBUG or not _site_hosts else f"https://{_site_hosts[0]}",
).rstrip("/")
_site = urlsplit(SITE_URL)
if _site.scheme not in ("http", "https") or not _site.netloc or _site.path or _site.query:
    raise ImproperlyConfigured(
        f"SITE_URL must be the site's origin, like https://gallery.example.com; got {SITE_URL!r}."
    )
if not DEBUG and not env.is_set("SITE_URL") and not _site_hosts:
    raise ImproperlyConfigured(
        "SITE_URL must be set when ALLOWED_HOSTS holds only wildcards (.example.com, *)."
    )

CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS")
# A refused form gets the site's page; a refused /api/ request gets a JSON error like every other.
CSRF_FAILURE_VIEW = "sigma_playground.errors.csrf_failure"
SITE_NAME = "Sigma Playground"

INSTALLED_APPS = [
    # Django
    "accounts.apps.AdminConfig",  # Django's admin, entered only through the site's sign-in
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.sitemaps",
    "django.contrib.syndication",
    # Third party
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "channels",
    "social_django",  # provider sign-in's tables and strategy; our pipeline is accounts.pipeline
    # Local
    "accounts",
    "workbooks",
    "search",
    "social",
    "insights",
    "moderation",
    "media",
    "idempotency",
]
if DEBUG:
    # Daphne's runserver serves HTTP and websockets from one process for `make run`.
    INSTALLED_APPS.insert(0, "daphne")

MIDDLEWARE = [
    # The request's id, on every log line and error report of it (docs/operations.md, "Logs").
    "sigma_playground.observability.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "sigma_playground.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Below WhiteNoise (static files come compressed ahead of time), above every middleware that
    # writes the body (the slots), so what is compressed is what is sent (sigma_playground/compression.py).
    "sigma_playground.compression.CompressionMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    # A NUL byte in the address is a 400 and in a cookie ignored: PostgreSQL text cannot hold one.
    "sigma_playground.http.RefuseMalformedAddressesMiddleware",
    # No database connection to be had within the pool's timeout: 503, not 500 (docs/scaling.md).
    "sigma_playground.database.DatabaseBusyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "media.uploads.UploadSizeLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's, trusting a cached session only as far as the member's row vouches for it.
    "accounts.middleware.AuthenticationMiddleware",
    "sigma_playground.caching.PrivateCacheMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Each viewer's parts of a page shared by everyone (templates' {% slot %}, workbooks/slots.py).
    "workbooks.middleware.ComposeMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # The services' refusals raised through a page's view as the site's pages: 429 with Retry-After,
    # 400 with the reason, a list's page that cannot be answered (sigma_playground/errors.py).
    "sigma_playground.errors.PageErrorsMiddleware",
]

# --- Metrics (docs/operations.md) -----------------------------------------------------------------

# /metrics answers only a request carrying `Authorization: Bearer <METRICS_TOKEN>`; anyone else, and
# everyone while it is unset, gets the 404 of an unknown address.
METRICS_TOKEN = env.str("METRICS_TOKEN").strip()
# The token is the endpoint's only guard (Prometheus reaches it over the network): one short enough to
# guess is refused, as a short SECRET_KEY would be.
if METRICS_TOKEN and len(METRICS_TOKEN) < 32:
    raise ImproperlyConfigured(
        "METRICS_TOKEN must be at least 32 characters long (for example the output of "
        "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`), or unset."
    )
# Off: no request is measured (the benchmark compares the site with and without). /metrics still
# answers, with the figures recorded elsewhere (Celery, realtime, the site's own events).
METRICS_ENABLED = env.bool("METRICS_ENABLED", default=True)
# Outermost, so that a request's time includes every other middleware's, and so that Prometheus's
# scrape is answered before the host check and the HTTPS redirect (observability/middleware.py).
MIDDLEWARE.insert(
    0,
    "sigma_playground.observability.middleware."
    + ("MetricsMiddleware" if METRICS_ENABLED else "ScrapeMiddleware"),
)

ROOT_URLCONF = "sigma_playground.urls"
WSGI_APPLICATION = "sigma_playground.wsgi.application"
ASGI_APPLICATION = "sigma_playground.asgi.application"

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
                "social.context_processors.notification_bell",
            ],
            # The core's template tags: it is not an installed app, so they are named here.
            "libraries": {"time_tags": "sigma_playground.templatetags.time_tags"},
        },
    },
]

# --- Database -------------------------------------------------------------------------------------

_database = env.database("DATABASE_URL")
if _database is None:
    VAR_DIR.mkdir(exist_ok=True)
    _database = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": VAR_DIR / "db.sqlite3",
        # WAL lets readers go on while one writer writes; IMMEDIATE takes the write lock at BEGIN so
        # two writers queue instead of failing with "database is locked" halfway through.
        "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE"},
    }
else:
    _database["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60, minimum=0)
    _database["CONN_HEALTH_CHECKS"] = True
    # Each Procfile process that serves requests sets its own pool size from the variable that sets
    # its threads (docs/scaling.md): the process then never holds more connections than that,
    # whatever its threads do, and a request that finds them all taken waits up to the timeout for
    # one, then answers 503 (sigma_playground.database). Unset: one persistent connection per thread.
    # Only PostgreSQL pools: a SQLite file given as DATABASE_URL (a test's server) ignores the size.
    _pool_size = env.int("DATABASE_POOL_SIZE", default=0, minimum=0)
    if _pool_size and _database["ENGINE"] == "django.db.backends.postgresql":
        _database["CONN_MAX_AGE"] = 0  # Django hands a pooled connection back after each request
        _database["OPTIONS"] = {
            **_database.get("OPTIONS", {}),
            "pool": {
                "min_size": 1,
                "max_size": _pool_size,
                "timeout": env.int("DATABASE_POOL_TIMEOUT", default=5, minimum=1),
            },
        }
    # Behind PgBouncer in transaction mode a server-side cursor (QuerySet.iterator()) lives on one
    # server connection and its next fetch may reach another, where it does not exist.
    _database["DISABLE_SERVER_SIDE_CURSORS"] = env.bool(
        "DATABASE_DISABLE_SERVER_SIDE_CURSORS", default=False
    )
DATABASES = {"default": _database}

# The connections every process of the deployment could hold together (sigma_playground.connections):
# with a budget set, no process starts when they could exceed it. The release's `migrate` also checks
# them against PostgreSQL's own max_connections (sigma_playground.checks).
# Set it behind PgBouncer: the server's max_connections then says nothing of what the app may open.
CONNECTION_PLAN = connection_plan(env)
DATABASE_MAX_CONNECTIONS = env.int("DATABASE_MAX_CONNECTIONS", default=0, minimum=0)
if DATABASE_MAX_CONNECTIONS:
    check_connection_budget(CONNECTION_PLAN, DATABASE_MAX_CONNECTIONS, "DATABASE_MAX_CONNECTIONS")

# An optional read replica. Only the reads of gallery, search and feed pages go there, and only until
# their request writes something (sigma_playground.db_router); everything else reads the primary.
_replica = env.database("DATABASE_REPLICA_URL")
if _replica is not None:
    if _database["ENGINE"] != _replica["ENGINE"]:
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL must name the same kind of database as DATABASE_URL."
        )
    _replica.update(
        {
            key: _database[key]
            for key in ("CONN_MAX_AGE", "CONN_HEALTH_CHECKS", "OPTIONS")
            if key in _database
        },
        DISABLE_SERVER_SIDE_CURSORS=_database.get("DISABLE_SERVER_SIDE_CURSORS", False),
        # The test suite reads the replica from the primary's test database.
        TEST={"MIRROR": "default"},
    )
    DATABASES["replica"] = _replica
    DATABASE_ROUTERS = ["sigma_playground.db_router.ReplicaRouter"]
    MIDDLEWARE.append("sigma_playground.db_router.ReplicaReadsMiddleware")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, channel layer, Celery broker ---------------------------------------------------

# REDIS_URL serves every use; each may have a Redis of its own instead, since they want different
# servers: the cache evicts (allkeys-lru) and keeps nothing on disk, the broker must keep its queues
# (appendonly yes) and never evict, the channel layer needs neither. Any of them may be a Sentinel URL
# (sentinel://host:26379,host:26380/<master name>/<db>, sigma_playground.env.RedisLocation).
REDIS_URL = env.redis_url("REDIS_URL")
CACHE_REDIS_URL = env.redis_url("CACHE_REDIS_URL") or REDIS_URL
CHANNEL_LAYER_REDIS_URL = env.redis_url("CHANNEL_LAYER_REDIS_URL") or REDIS_URL
# Without Redis, kombu's in-memory transport. It names a host only because kombu warns "No hostname
# was supplied" for a bare memory:// each time an eager task borrows a producer; no connection is made.
EMBEDDED_BROKER_URL = "memory://localhost/"
_broker = RedisLocation.parse(
    env.redis_url("CELERY_BROKER_URL") or REDIS_URL or EMBEDDED_BROKER_URL
)

# The channel layer forgets a group member this long after it joined (both layers do). Sockets and
# event streams join again well within it (social.hub.rejoin_interval), so one open for days
# keeps hearing its member's pushes.
CHANNEL_LAYER_GROUP_EXPIRY = env.int("CHANNEL_LAYER_GROUP_EXPIRY", default=86400, minimum=2)

# Every cache call waits at most this long: the cache is an optimisation, not worth a stalled page.
_cache_timeout = env.int("CACHE_TIMEOUT_MS", default=250, minimum=10) / 1000

if CACHE_REDIS_URL:
    CACHES: dict[str, dict[str, Any]] = {
        "default": {
            # Fails open: with Redis down or stalled, pages render uncached (sigma_playground.cache).
            "BACKEND": "sigma_playground.cache.FailOpenRedisCache",
            # A list, because Django splits a string location on commas (a Sentinel URL has them).
            "LOCATION": [CACHE_REDIS_URL],
            "KEY_PREFIX": "sp",
            "OPTIONS": {
                "socket_connect_timeout": _cache_timeout,
                "socket_timeout": _cache_timeout,
            },
        }
    }
    if RedisLocation.parse(CACHE_REDIS_URL).is_sentinel:
        # redis-py reads no Sentinel URL; this pool does, and follows the master on failover.
        CACHES["default"]["OPTIONS"]["pool_class"] = "sigma_playground.sentinel.SentinelCachePool"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

if CHANNEL_LAYER_REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # redis-py's asyncio pool holds 100 connections by default and fails the next
                # caller; a burst of reconnecting browsers needs more (one per concurrent call).
                "hosts": [
                    RedisLocation.parse(CHANNEL_LAYER_REDIS_URL).channels_host(
                        max_connections=env.int(
                            "CHANNEL_LAYER_MAX_CONNECTIONS", default=2000, minimum=10
                        ),
                        # channels-redis blocks up to 5 s reading a channel (BZPOPMIN), and
                        # redis-py's default read timeout is also 5 s: under load the reply lands
                        # just after it and the consumer dies with 1011. Give reads room.
                        socket_timeout=30,
                    )
                ],
                "prefix": "sp:asgi",
                # Messages waiting per channel. Every socket of one server process shares one
                # channel in Redis, so a fan-out to a thousand connected followers is a burst of
                # thousands: the default 100 would drop the rest (clients then recover by resume).
                "capacity": env.int("CHANNEL_LAYER_CAPACITY", default=20000, minimum=100),
                "group_expiry": CHANNEL_LAYER_GROUP_EXPIRY,
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"group_expiry": CHANNEL_LAYER_GROUP_EXPIRY},
        }
    }

# --- Celery ---------------------------------------------------------------------------------------

CELERY_BROKER_URL = _broker.kombu_url()
_in_memory_broker = CELERY_BROKER_URL.startswith("memory://")
CELERY_RESULT_BACKEND = None if _in_memory_broker else CELERY_BROKER_URL
if _broker.is_sentinel:
    CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"master_name": _broker.master_name}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=_in_memory_broker)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_EXPIRES = timedelta(hours=1)
# The hard limit of tasks without one of their own; no task sets a longer one (a test checks).
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300, minimum=1)
CELERY_TASK_SOFT_TIME_LIMIT = max(1, CELERY_TASK_TIME_LIMIT - 30)
# Acknowledged when done, and given back to the queue when the pool process running it dies (the
# OOM killer, a crash, a SIGKILL): tasks are idempotent, so the cost of a second run is only time.
# Without the second setting Celery acknowledges a task whose process died, and it is lost.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# The longest a retried task waits before its next try (tasks.py: `retry_backoff_max`).
TASK_RETRY_MAX_DELAY = 120
# Redis gives an unacknowledged message to another worker after this many seconds. It must outlast
# the longest task plus the longest retry wait (a retry waits, unacknowledged, in the worker that
# took it), or one run starts beside another; any longer only delays recovery from a worker lost
# whole, which the sweeps below also catch.
_longest_task = max(CELERY_TASK_TIME_LIMIT, 300)  # 300: the longest limit a task sets itself
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {
    "visibility_timeout": _longest_task + TASK_RETRY_MAX_DELAY + 60,
    # Without a read timeout, queueing a task to a stalled Redis waits as long as the stall lasts, in
    # the request that queues it. With one it fails in seconds, and the caller logs it or does the
    # work another way. (Consumers are unaffected: their BRPOP asks Redis to answer within 1 s.)
    "socket_timeout": 2,
    "socket_connect_timeout": 2,
}
if _broker.is_sentinel:
    CELERY_BROKER_TRANSPORT_OPTIONS["master_name"] = _broker.master_name
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# One queue per kind of work, so a burst of pictures never delays a password-reset email or a
# notification, and each can have workers sized for it (Procfile). A worker started without -Q
# consumes all four.
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = [Queue(name) for name in ("default", "images", "notifications", "email")]
CELERY_TASK_ROUTES = {
    "media.tasks.process_image": {"queue": "images"},
    "media.tasks.discard_variants": {"queue": "images"},
    "social.tasks.*": {"queue": "notifications"},
    "accounts.tasks.send_email": {"queue": "email"},
    # The members' own emails (social.emails) wait behind no notification fan-out.
    "social.tasks.send_instant_email": {"queue": "email"},
    "social.tasks.send_weekly_digests": {"queue": "email"},
}
# A pool process is replaced after the task that took it past this resident size (in KiB): decoding a
# 40-megapixel picture grows a process by a few hundred MB that it does not hand back. Only the
# image workers come near it.
CELERY_WORKER_MAX_MEMORY_PER_CHILD = (
    env.int("CELERY_WORKER_MAX_MEMORY_MB", default=400, minimum=64) * 1024
)
CELERY_TIMEZONE = "UTC"
# A worker serves its kind's Prometheus metrics on this port (GET /metrics, to METRICS_TOKEN only);
# 0: not at all. Each worker kind of the Procfile has a port of its own
# (sigma_playground.observability.tasks).
CELERY_METRICS_PORT = env.int("CELERY_METRICS_PORT", default=0, minimum=0)
# The address it listens on: every interface by default, as the web processes do, for Prometheus on
# another host of the private network; 127.0.0.1 when Prometheus runs on the same host.
CELERY_METRICS_HOST = env.str("CELERY_METRICS_HOST", default="0.0.0.0")  # noqa: S104
CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "flush-expired-tokens": {"task": "accounts.tasks.flush_expired_tokens", "schedule": 24 * 3600},
    "flush-views": {"task": "workbooks.tasks.flush_views", "schedule": 60},
    "refresh-trending": {"task": "workbooks.tasks.refresh_trending", "schedule": 600},
    # Every related list recomputed (about 50 s at 50,000 workbooks): lists a lost refresh_related
    # left behind are put right, and the kept lists follow trending again. At 03:30 UTC, a quiet
    # hour, whenever beat started (an interval would count from beat's start, at any hour).
    "rebuild-related": {
        "task": "workbooks.tasks.rebuild_related",
        "schedule": crontab(hour=3, minute=30),
    },
    "remove-orphan-media": {"task": "media.tasks.remove_orphans", "schedule": 3600},
    "remove-expired-idempotency-keys": {
        "task": "idempotency.tasks.remove_expired_keys",
        "schedule": 3600,
    },
    # Work whose message was lost (a broker restarted without persistence, a worker lost whole)
    # is found from the database and queued again; both sweeps are idempotent.
    "resume-stuck-images": {"task": "media.tasks.resume_stuck_images", "schedule": 300},
    "resume-fan-outs": {"task": "social.tasks.resume_fan_outs", "schedule": 300},
    "resume-instant-emails": {"task": "social.tasks.resume_instant_emails", "schedule": 300},
    # The weekly digest (social.emails), Monday morning UTC; run again later that day to finish a
    # run cut short: one digest per member and week whatever the number of runs.
    "send-weekly-digests": {
        "task": "social.tasks.send_weekly_digests",
        "schedule": crontab(minute=0, hour="8,14", day_of_week="mon"),
    },
    # Members' data exports past their link's lifetime (EXPORT_LINK_HOURS): files and rows.
    "remove-expired-exports": {"task": "accounts.tasks.remove_expired_exports", "schedule": 3600},
}

# --- Auth -----------------------------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = 60 * 60 * 3
# Sessions in the database, read from a copy in the cache that the member's row vouches for
# (accounts.sessions): a signed-in page reads the member's row and no session row.
SESSION_ENGINE = "accounts.sessions"

# Brute-force guard for both sign-in paths (HTML form and token endpoint), counted in the cache.
SIGNIN_MAX_FAILURES_PER_USERNAME = env.int("SIGNIN_MAX_FAILURES_PER_USERNAME", default=5, minimum=1)
SIGNIN_MAX_FAILURES_PER_ADDRESS = env.int("SIGNIN_MAX_FAILURES_PER_ADDRESS", default=20, minimum=1)
SIGNIN_FAILURE_WINDOW = timedelta(minutes=15)
# One budget for every way to create an account (the sign-up page and the API), per client address.
SIGNUP_MAX_PER_ADDRESS = env.int("SIGNUP_MAX_PER_ADDRESS_PER_HOUR", default=20, minimum=1)
SIGNUP_WINDOW = timedelta(hours=1)
# Verified email (accounts.verification): "mandatory" (publishing and commenting wait for the
# link to be followed), "optional" (the link is sent, nothing waits) or "none" (no link is sent).
EMAIL_VERIFICATION = env.str("EMAIL_VERIFICATION", default="mandatory").strip().lower()
if EMAIL_VERIFICATION not in ("mandatory", "optional", "none"):
    raise ImproperlyConfigured(
        f"EMAIL_VERIFICATION must be mandatory, optional or none; got {EMAIL_VERIFICATION!r}."
    )
EMAIL_VERIFICATION_LINK_HOURS = env.int("EMAIL_VERIFICATION_LINK_HOURS", default=72, minimum=1)
# New links and address changes a member may ask for per hour (each one is an email sent).
EMAIL_VERIFICATION_EMAILS_PER_HOUR = env.int(
    "RATE_LIMIT_VERIFICATION_EMAILS_PER_HOUR", default=3, minimum=1
)
# How many reverse proxies sit in front of the app; their X-Forwarded-For entries are trusted.
NUM_PROXIES = env.int("NUM_PROXIES", default=0, minimum=0)

# --- Sign-in with a provider (accounts.providers, docs/accounts.md "Sign-in with a provider") ---
# A provider shows on the sign-in page only once its client id and secret are set.
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "accounts.providers.Google",
    "accounts.providers.GitHub",
    "accounts.providers.OpenIdConnect",
]
SOCIAL_AUTH_GOOGLE_KEY = env.str("GOOGLE_CLIENT_ID")
SOCIAL_AUTH_GOOGLE_SECRET = env.str("GOOGLE_CLIENT_SECRET")
SOCIAL_AUTH_GITHUB_KEY = env.str("GITHUB_CLIENT_ID")
SOCIAL_AUTH_GITHUB_SECRET = env.str("GITHUB_CLIENT_SECRET")
SOCIAL_AUTH_GITHUB_SCOPE = ["read:user", "user:email"]
# Any OpenID Connect identity provider (Okta, Azure AD, Google Workspace, Keycloak...): its issuer
# URL (discovery at <issuer>/.well-known/openid-configuration), the client, the button's label.
SOCIAL_AUTH_OIDC_OIDC_ENDPOINT = env.str("OIDC_ISSUER").rstrip("/")
SOCIAL_AUTH_OIDC_KEY = env.str("OIDC_CLIENT_ID")
SOCIAL_AUTH_OIDC_SECRET = env.str("OIDC_CLIENT_SECRET")
OIDC_BUTTON_LABEL = env.str("OIDC_BUTTON_LABEL", default="Single sign-on")
SOCIAL_AUTH_OIDC_USE_PKCE = True
SOCIAL_AUTH_JSONFIELD_ENABLED = True
SOCIAL_AUTH_URL_NAMESPACE = "accounts"
SOCIAL_AUTH_LOGIN_ERROR_URL = "accounts:provider-error"
SOCIAL_AUTH_PIPELINE = (
    "social_core.pipeline.social_auth.social_details",
    "social_core.pipeline.social_auth.social_uid",
    "social_core.pipeline.social_auth.auth_allowed",
    "accounts.pipeline.remember_email_verified",
    "social_core.pipeline.social_auth.social_user",
    "accounts.pipeline.sign_up_or_link",
    "social_core.pipeline.social_auth.associate_user",
    "social_core.pipeline.social_auth.load_extra_data",
    "accounts.pipeline.finish",
)
# A re-sign-in through a linked provider stands for the password this long (account deletion).
PROVIDER_REAUTH_SECONDS = env.int("PROVIDER_REAUTH_SECONDS", default=300, minimum=30)

MFA_ISSUER = SITE_NAME
# Staff enter the admin only with two-factor sign-in set up (sent to set it up first).
MFA_REQUIRED_FOR_STAFF = env.bool("MFA_REQUIRED_FOR_STAFF", default=not DEBUG)

# Per member per minute, for every write a member can repeat (sigma_playground.rates.check_rate):
# one account cannot flood another with notifications, reports or mail.
SOCIAL_RATE_LIMITS = {
    "comment": env.int("RATE_LIMIT_COMMENTS_PER_MINUTE", default=10, minimum=1),
    "follow": env.int("RATE_LIMIT_FOLLOWS_PER_MINUTE", default=30, minimum=1),
    "favorite": env.int("RATE_LIMIT_FAVORITES_PER_MINUTE", default=60, minimum=1),
    "collect": env.int("RATE_LIMIT_COLLECTS_PER_MINUTE", default=60, minimum=1),
    "collection": env.int("RATE_LIMIT_COLLECTIONS_PER_MINUTE", default=10, minimum=1),
    # Linking or unlinking a sign-in provider (Settings), per member.
    "provider_link": env.int("RATE_LIMIT_PROVIDER_LINKS_PER_MINUTE", default=10, minimum=1),
    "report": env.int("RATE_LIMIT_REPORTS_PER_MINUTE", default=5, minimum=1),
    # Blocks and unblocks, counted together.
    "block": env.int("RATE_LIMIT_BLOCKS_PER_MINUTE", default=20, minimum=1),
    # Saving email choices and unsubscribing, counted together.
    "email": env.int("RATE_LIMIT_EMAIL_CHOICES_PER_MINUTE", default=10, minimum=1),
    # A moderator's actions (hide, unpublish, dismiss, restore, suspend, lift), counted together.
    "moderate": env.int("RATE_LIMIT_MODERATION_ACTIONS_PER_MINUTE", default=60, minimum=1),
}
# Reports of a workbook or comment from this many distinct members hold it (hidden from everyone but
# its author and moderators) until a moderator reviews it (docs/accounts.md, "Reporting and
# moderation").
MODERATION_HOLD_REPORTS = env.int("MODERATION_HOLD_REPORTS", default=3, minimum=1)
MFA_RECOVERY_CODE_COUNT = 10

# Leaving: a member's data export (accounts.exports) is fetched through a signed link for this long,
# then removed; one may be asked for every EXPORT_EVERY_MINUTES. A deleted member's username is
# refused to others for RETIRED_USERNAME_DAYS.
EXPORT_LINK_HOURS = env.int("EXPORT_LINK_HOURS", default=48, minimum=1)
EXPORT_EVERY_MINUTES = env.int("EXPORT_EVERY_MINUTES", default=60, minimum=1)
RETIRED_USERNAME_DAYS = env.int("RETIRED_USERNAME_DAYS", default=90, minimum=0)

# --- API ------------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api.authentication.BearerAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        # JSON and url-encoded bodies over DATA_UPLOAD_MAX_MEMORY_SIZE are refused unread (413), a
        # multipart body holding no part as malformed (400).
        "sigma_playground.parsers.JSONParser",
        "sigma_playground.parsers.FormParser",
        "sigma_playground.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "sigma_playground.api.Pagination",
    # Documents every error status an operation can answer, from the view's auth, throttles and parsers.
    "DEFAULT_SCHEMA_CLASS": "sigma_playground.schema.AutoSchema",
    "EXCEPTION_HANDLER": "sigma_playground.errors.exception_handler",
    "DEFAULT_METADATA_CLASS": "sigma_playground.api.Metadata",
    "NUM_PROXIES": NUM_PROXIES,
    "DEFAULT_THROTTLE_RATES": {
        "password_reset": "10/hour",
        "uploads": f"{env.int('RATE_LIMIT_UPLOADS_PER_HOUR', default=60, minimum=1)}/hour",
    },
}

SIMPLE_JWT: dict[str, Any] = {
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=SECRET_KEY),
    "ACCESS_TOKEN_LIFETIME": timedelta(
        minutes=env.int("JWT_ACCESS_TOKEN_MINUTES", default=15, minimum=1)
    ),
    "REFRESH_TOKEN_LIFETIME": timedelta(
        days=env.int("JWT_REFRESH_TOKEN_DAYS", default=7, minimum=1)
    ),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
}
# However often a login's refresh token is rotated, it stops working this long after the sign-in.
JWT_REFRESH_ABSOLUTE_LIFETIME = timedelta(
    days=env.int("JWT_REFRESH_ABSOLUTE_DAYS", default=30, minimum=1)
)
if SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"] > JWT_REFRESH_ABSOLUTE_LIFETIME:
    raise ImproperlyConfigured(
        "JWT_REFRESH_ABSOLUTE_DAYS must not be shorter than JWT_REFRESH_TOKEN_DAYS."
    )

SPECTACULAR_SETTINGS = {
    "TITLE": "Sigma Playground API",
    "DESCRIPTION": "Publish, browse and discuss Sigma Computing workbooks.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ImageStatusEnum": "media.models.Image.Status",
        # Two fields are named "kind": the image's keeps the name it always had.
        "KindEnum": "media.models.Image.Kind",
        "LinkKindEnum": "accounts.profiles.LINK_KIND_CHOICES",
    },
    # Served from our own static files: no CDN at run time.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No deep links: Swagger UI puts each one, a link, inside the operation's toggle button, and a
    # control inside a control is unreachable by keyboard and misread by screen readers (axe:
    # nested-interactive, once per operation). docs/api.md, "The docs page".
    "SWAGGER_UI_SETTINGS": {"deepLinking": False},
    "REDOC_DIST": "SIDECAR",
}

CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS")
CORS_URLS_REGEX = r"^/api/.*$"

# --- Sigma embeds (docs/embeds.md) --------------------------------------------------------------------

# Hosts whose URLs authors may publish and whose pages we frame; the CSP's frame-src is exactly these.
SIGMA_EMBED_HOSTS = env.list("SIGMA_EMBED_HOSTS", default=["app.sigmacomputing.com"])
# With both set, workbook/page/element URLs are framed through a JWT-signed URL minted per viewer.
SIGMA_EMBED_CLIENT_ID = env.str("SIGMA_EMBED_CLIENT_ID")
SIGMA_EMBED_SECRET = env.str("SIGMA_EMBED_SECRET")
if bool(SIGMA_EMBED_CLIENT_ID) != bool(SIGMA_EMBED_SECRET):
    raise ImproperlyConfigured("Set both SIGMA_EMBED_CLIENT_ID and SIGMA_EMBED_SECRET, or neither.")
SIGMA_EMBED_TOKEN_LIFETIME = timedelta(
    minutes=env.int("SIGMA_EMBED_TOKEN_MINUTES", default=60, minimum=1)
)
if timedelta(days=30) < SIGMA_EMBED_TOKEN_LIFETIME:
    raise ImproperlyConfigured("SIGMA_EMBED_TOKEN_MINUTES must be at most 30 days (Sigma's limit).")
# Who signed embeds are minted for when the viewer is not signed in; empty: such viewers get a link.
SIGMA_EMBED_GUEST_EMAIL = env.str("SIGMA_EMBED_GUEST_EMAIL")
# A member's signed embeds are minted for member-<id>@<this domain>: an identity the site controls,
# never the address a member typed (it is not verified). Sigma refuses underscores and spaces in it.
SIGMA_EMBED_MEMBER_DOMAIN = env.str("SIGMA_EMBED_MEMBER_DOMAIN").strip().lower()
if SIGMA_EMBED_CLIENT_ID and not re.fullmatch(
    r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+", SIGMA_EMBED_MEMBER_DOMAIN
):
    raise ImproperlyConfigured(
        "SIGMA_EMBED_MEMBER_DOMAIN must be a domain name such as embed.example.com when"
        f" SIGMA_EMBED_CLIENT_ID is set; got {SIGMA_EMBED_MEMBER_DOMAIN!r}."
    )
# Seconds the page waits for `workbook:loaded` before showing the fallback.
SIGMA_EMBED_LOAD_TIMEOUT = env.int("SIGMA_EMBED_LOAD_TIMEOUT", default=20, minimum=1)
# Embed health (workbooks.embed_health): an author is warned, on the edit page and by a notification,
# when more than this share (0 to 1) of the last EMBED_FAILING_WINDOW outcomes readers' pages reported
# for a workbook were errors or timeouts.
try:
    EMBED_FAILING_SHARE = float(env.str("EMBED_FAILING_SHARE", default="0.5"))
except ValueError:
    raise ImproperlyConfigured("EMBED_FAILING_SHARE must be a number from 0 to 1.") from None
if not 0 <= EMBED_FAILING_SHARE < 1:
    raise ImproperlyConfigured(
        f"EMBED_FAILING_SHARE must be at least 0 and below 1; got {EMBED_FAILING_SHARE}."
    )
EMBED_FAILING_WINDOW = env.int("EMBED_FAILING_WINDOW", default=20, minimum=1)
# A workbook is judged failing only once at least this many distinct client addresses (an IPv6 /64
# counting as one) reported a failure within the last day: no one reader decides it alone.
EMBED_FAILING_MIN_REPORTERS = env.int("EMBED_FAILING_MIN_REPORTERS", default=3, minimum=1)
# Development only: frames show a local page that speaks Sigma's postMessage events instead of Sigma.
SIGMA_EMBED_STANDIN = env.bool("SIGMA_EMBED_STANDIN", default=False)
if SIGMA_EMBED_STANDIN and not DEBUG:
    raise ImproperlyConfigured("SIGMA_EMBED_STANDIN is for development and needs DEBUG on.")

SEARCH_CONFIG = "english"

# --- Static and media -----------------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
# Originals as uploaded, kept only until their variants are made; never served.
MEDIA_UPLOAD_ROOT = Path(env.str("MEDIA_UPLOAD_ROOT", default=str(VAR_DIR / "uploads")))
# Public media (the variants) from a CDN: its base URL, e.g. https://cdn.example.com/media/.
MEDIA_CDN_URL = env.str("MEDIA_CDN_URL")
if MEDIA_CDN_URL and not (MEDIA_CDN_URL.startswith("https://") and MEDIA_CDN_URL.endswith("/")):
    raise ImproperlyConfigured("MEDIA_CDN_URL must be an https:// URL ending with a slash.")
MEDIA_URL = MEDIA_CDN_URL or env.str("MEDIA_URL", default="/media/")
MEDIA_MAX_UPLOAD_MB = env.int("MEDIA_MAX_UPLOAD_MB", default=10, minimum=1)
MEDIA_MAX_PIXELS = env.int("MEDIA_MAX_MEGAPIXELS", default=40, minimum=1) * 1_000_000
# An upload body over the limit is refused from its Content-Length before it is read (media.uploads);
# the handler below stops any single file that still grows past it.
FILE_UPLOAD_HANDLERS = [
    "media.uploads.SizeLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# Optional virus scan of every upload by ClamAV: clamd's unix socket path, or host:port.
CLAMD_ADDRESS = env.str("CLAMD_ADDRESS")
if CLAMD_ADDRESS:
    from media.clamd import parse_address  # standard library only

    try:
        parse_address(CLAMD_ADDRESS)
    except ValueError as error:
        raise ImproperlyConfigured(f"CLAMD_ADDRESS: {error}") from None
CLAMD_TIMEOUT = env.int("CLAMD_TIMEOUT", default=30, minimum=1)

# S3-compatible object storage (AWS, MinIO, R2...) for media when a bucket is named.
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME")
AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL") or None
AWS_S3_REGION_NAME = env.str("AWS_S3_REGION_NAME") or None
AWS_S3_ACCESS_KEY_ID = env.str("AWS_ACCESS_KEY_ID") or None
AWS_S3_SECRET_ACCESS_KEY = env.str("AWS_SECRET_ACCESS_KEY") or None
if AWS_STORAGE_BUCKET_NAME:
    MEDIA_STORAGE = {
        # With MEDIA_CDN_URL, its URLs are MEDIA_CDN_URL + name: the CDN maps it to media/ in the bucket.
        "BACKEND": "media.storage.PublicS3Storage",
        "OPTIONS": {
            "location": "media",
            # Variant names are content hashes: a name never changes meaning, so caches keep it.
            "object_parameters": {"CacheControl": "public, max-age=31536000, immutable"},
            "querystring_auth": False,
            "file_overwrite": True,
        },
    }
    UPLOAD_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {"location": "uploads", "default_acl": "private"},
    }
else:
    MEDIA_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    UPLOAD_STORAGE = {"BACKEND": "media.storage.UploadFileSystemStorage"}
STORAGES = {
    "default": MEDIA_STORAGE,
    "uploads": UPLOAD_STORAGE,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# --- Email ----------------------------------------------------------------------------------------

globals().update(env.email("EMAIL_URL", default="consolemail://"))
# The members' emails (social.emails, docs/accounts.md "Email members want"): the first
# notification of a burst waits this long for the rest, so one burst of activity is one email.
EMAIL_BATCH_SECONDS = env.int("EMAIL_BATCH_SECONDS", default=120, minimum=0)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Sigma Playground <noreply@localhost>")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
# Who is mailed a 500's report when Sentry is not set up: "Ada <ada@example.com>, bob@example.com".
ADMINS = [
    (name or address, address)
    for name, address in getaddresses([env.str("ADMINS")])
    if "@" in address
]
if env.is_set("ADMINS") and not ADMINS:
    raise ImproperlyConfigured(
        "ADMINS must list email addresses, like 'Ada <ada@example.com>, bob@example.com'."
    )

# --- Security -------------------------------------------------------------------------------------

SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    # Only behind a proxy that sets X-Forwarded-Proto itself and drops the client's.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- I18N and logging -----------------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logs and error reports (docs/operations.md) --------------------------------------------------

# "plain" (a line a person reads, the default) or "json" (one object per line, for a log pipeline).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain").lower()
# Take the request id from the proxy's X-Request-ID: only behind a proxy that sets it itself.
TRUST_REQUEST_ID_HEADER = env.bool("TRUST_REQUEST_ID_HEADER", default=False)

SENTRY_DSN = env.str("SENTRY_DSN")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="development" if DEBUG else "production")
# Empty: the deployed git commit, else the package's version (sigma_playground.observability.sentry).
SENTRY_RELEASE = env.str("SENTRY_RELEASE")
# The share of requests and tasks traced for performance (0 to 1); errors are always reported.
try:
    SENTRY_TRACES_SAMPLE_RATE = float(env.str("SENTRY_TRACES_SAMPLE_RATE", default="0"))
except ValueError:
    SENTRY_TRACES_SAMPLE_RATE = -1.0
if not 0 <= SENTRY_TRACES_SAMPLE_RATE <= 1:
    raise ImproperlyConfigured("SENTRY_TRACES_SAMPLE_RATE must be a number from 0 to 1.")

# Without Sentry, a 500 is mailed to ADMINS instead (with DEBUG off): without the settings (they hold
# the Redis and broker passwords), sensitive POST, GET and META values, or a token in the URL's path.
DEFAULT_EXCEPTION_REPORTER = "sigma_playground.observability.reports.Reporter"
DEFAULT_EXCEPTION_REPORTER_FILTER = "sigma_playground.observability.reports.ReportFilter"
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = logging_config(
    LOG_FORMAT,
    LOG_LEVEL,
    mail_admins=not SENTRY_DSN,
    # Tasks run in the web process (the embedded default): a line per task run would bury the site's
    # own; LOG_LEVEL=DEBUG shows them again.
    quiet_tasks=CELERY_TASK_ALWAYS_EAGER and LOG_LEVEL.upper() != "DEBUG",
)
if SENTRY_DSN:
    # Here, so that every process (web, ws, Celery worker and beat) reports once it has settings.
    from .observability.sentry import init as init_sentry

    init_sentry(
        dsn=SENTRY_DSN,
        environment=SENTRY_ENVIRONMENT,
        release=SENTRY_RELEASE,
        traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
        base_dir=BASE_DIR,
    )
