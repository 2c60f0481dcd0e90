"""oaweb settings, read from the environment (see README "Configuration").

Two modes share one engine:
* embedded (no REDIS_URL): SQLite, in-memory channel layer and Celery broker,
  an in-process worker thread pool;
* distributed (REDIS_URL set): Redis is broker, channel layer, cache and hot
  run-state store; `python manage.py runworker` processes execute steps.
"""

import sys
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from oaweb.env import env_bool, env_float, env_int, env_list, env_str, env_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("OAWEB_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-development-key-only-used-when-DEBUG-is-on"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# --- HTTPS (README "In production behind HTTPS") -----------------------------
# Off unless set, as in Django: `make run` and the test servers speak plain http,
# where secure cookies would break logins without a word (the browser never sends
# them back) and HSTS would stick in browsers for its whole max-age.
# `check --deploy` names each one left off.
# Only behind a proxy that terminates TLS and sets X-Forwarded-Proto itself
# (replacing the client's): else a client could claim https.
if env_bool("OAWEB_BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# Load balancers and Prometheus call these on the app server itself, often over
# plain http with no X-Forwarded-Proto: a redirect to https would fail them.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)

# daphne's app gives `runserver` its ASGI server (the live pages of `make run`).
# Importing it loads Twisted, 15 MB that no other process uses: not workers,
# nor management commands, nor daphne itself in production (it needs no app).
_runserver = sys.argv[1:2] == ["runserver"]

INSTALLED_APPS = [
    *(["daphne"] if _runserver else []),
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Before "channels": its `runworker` command (for channel workers) must
    # not shadow oaweb's (Django lets the first app providing a command win).
    "workflows",
    "registry",
    "channels",
    "django_celery_results",
    "django_celery_beat",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI / ReDoc files served locally: no CDN
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files from the app server itself, in both modes: no collectstatic step to forget.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Redis or the database unreachable: 503 with Retry-After, not a 500: clients can tell "try again" from a bug.
    # Before the session and auth middleware, which read the database.
    "workflows.outages.OutageMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # API request rate and latency, for /metrics.
    "workflows.metrics.timings.ApiTimingMiddleware",
    # Issue 20: the request at hand for the audit log's "who" (workflows/audit/context.py).
    "workflows.audit.context.AuditContextMiddleware",
]

ROOT_URLCONF = "oaweb.urls"
WSGI_APPLICATION = "oaweb.wsgi.application"
ASGI_APPLICATION = "oaweb.asgi.application"

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
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'oaweb.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The step path prepares its few statements (workflows/execution/transitions/common.py,
    # fetch_prepared). psycopg prepares nothing while the threshold is None, Django's default;
    # Django's cursors bind parameters on the client and never prepare whatever it is, and
    # this one is too high for psycopg ever to prepare a statement nobody asked it to.
    # Those statements find their rows by id, whatever the values: one generic plan each,
    # not a plan made again at every execution (PostgreSQL's choice for them otherwise).
    # It changes nothing else: no other statement is prepared.
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["prepare_threshold"] = 2**31 - 1
    _options["options"] = f"{_options.get('options', '')} -c plan_cache_mode=force_generic_plan".strip()
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while an embedded worker writes; IMMEDIATE
    # transactions take the write lock up front instead of failing on upgrade.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
# The web server (oaweb/asgi.py sets OAWEB_PROCESS=web) runs every request in
# a thread of its own, and each thread would keep a PostgreSQL connection of
# its own: 16 busy API clients exhausted max_connections. It takes
# connections from a bounded pool instead; a request that waits longer than
# OAWEB_DB_POOL_TIMEOUT for one answers 503. Workers keep one long-lived
# connection per step thread (their count is bounded by their concurrency).
OAWEB_PROCESS = env_str("OAWEB_PROCESS")
OAWEB_DB_POOL_SIZE = env_int("OAWEB_DB_POOL_SIZE", 10, minimum=1)
OAWEB_DB_POOL_TIMEOUT = env_float("OAWEB_DB_POOL_TIMEOUT", 5.0)
if OAWEB_PROCESS == "web" and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A pooled connection goes back to the pool after each request; with
    # CONN_HEALTH_CHECKS on, Django has the pool check it before handing it out.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": OAWEB_DB_POOL_SIZE,
        "timeout": OAWEB_DB_POOL_TIMEOUT,
        # The pool retries a lost server with a doubling delay until this many
        # seconds, then gives up until a request asks again: without the cap
        # the delay grows past a minute and the web tier stays down that long
        # after PostgreSQL is back.
        "reconnect_timeout": 5,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: unset means embedded mode ---------------------------------------
REDIS_URL = env_url("REDIS_URL", ("redis", "rediss", "unix"))
# "host:port,host:port" of Redis Sentinels; REDIS_URL then names db/password.
REDIS_SENTINELS = [
    (host, int(port)) for host, _, port in (item.rpartition(":") for item in env_list("REDIS_SENTINELS"))
]
REDIS_SENTINEL_MASTER = env_str("REDIS_SENTINEL_MASTER", "mymaster")
if REDIS_SENTINELS and not REDIS_URL:
    REDIS_URL = "redis://"
EMBEDDED = not REDIS_URL

if EMBEDDED:
    CHANNEL_LAYERS = {"default": {"BACKEND": "workflows.web.layers.EmbeddedChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
elif REDIS_SENTINELS:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"sentinels": REDIS_SENTINELS, "master_name": REDIS_SENTINEL_MASTER}]},
        }
    }
    # Django's Redis cache has no Sentinel support; the cache only holds
    # rebuildable lookups, so a per-process cache is a safe fallback.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}}
    # Every cache user copes with the cache failing (the throttle, the registry
    # lookups, the webhook miss counter): a dead Redis must fail fast, not hold
    # requests for the kernel's TCP timeouts (socket options of redis-py's pool).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }

# --- Celery (read by oaweb/celery.py with the CELERY_ namespace) ----------
if EMBEDDED:
    CELERY_BROKER_URL = "memory://"
    # kombu's memory transport polls; 1 s by default would cost a second per step.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"polling_interval": env_float("OAWEB_EMBEDDED_POLL_SECONDS", 0.002)}
elif REDIS_SENTINELS:
    CELERY_BROKER_URL = ";".join(f"sentinel://{host}:{port}" for host, port in REDIS_SENTINELS)
    CELERY_BROKER_TRANSPORT_OPTIONS = {"master_name": REDIS_SENTINEL_MASTER}
else:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
if not EMBEDDED:
    CELERY_BROKER_TRANSPORT_OPTIONS.update(
        {
            # Steps are recovered by oaweb's lease reaper, not by waiting for
            # this timeout; it only bounds how long a lost message hides.
            "visibility_timeout": env_int("OAWEB_VISIBILITY_TIMEOUT", 3600, minimum=60),
            "queue_order_strategy": "priority",
            "priority_steps": list(range(10)),
            "sep": ":",
        }
    )
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis only: a worker takes a message only when a process is free to run it,
# so a killed worker never strands messages it had merely reserved.
CELERY_WORKER_DISABLE_PREFETCH = not EMBEDDED
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Celery's Django fix-up otherwise closes the database connection before and
# after every task: a new PostgreSQL connection per step. The step task calls
# close_old_connections() itself, which keeps CONN_MAX_AGE and health checks.
CELERY_DB_REUSE_MAX = env_int("OAWEB_DB_REUSE_MAX", 1000, minimum=1)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# --- oaweb -----------------------------------------------------------------
OAWEB_COMPONENT_MODULES = env_list("OAWEB_COMPONENT_MODULES")
OAWEB_MAX_DEFINITION_BYTES = env_int("OAWEB_MAX_DEFINITION_BYTES", 5 * 1024 * 1024, minimum=1024)
OAWEB_MAX_DEFINITION_DEPTH = env_int("OAWEB_MAX_DEFINITION_DEPTH", 64, minimum=8)
OAWEB_DEFAULT_TEAM = env_str("OAWEB_DEFAULT_TEAM", "default")
# A run of more steps than this is answered at once, `pending`, and a worker
# writes its steps (in bulk) after the answer; smaller runs are written inline.
OAWEB_START_INLINE_STEPS = env_int("OAWEB_START_INLINE_STEPS", 500, minimum=1)
OAWEB_EMBEDDED_CONCURRENCY = env_int("OAWEB_EMBEDDED_CONCURRENCY", 4, minimum=1)
# A running step's lease: renewed by its worker every HEARTBEAT seconds; a
# reaper re-queues steps whose lease expired (their worker died).
OAWEB_LEASE_SECONDS = env_int("OAWEB_LEASE_SECONDS", 15, minimum=3)
OAWEB_HEARTBEAT_SECONDS = env_int("OAWEB_HEARTBEAT_SECONDS", 5, minimum=1)
OAWEB_REAPER_SECONDS = env_int("OAWEB_REAPER_SECONDS", 5, minimum=1)
OAWEB_STEP_TIMEOUT = env_int("OAWEB_STEP_TIMEOUT", 300, minimum=1)
# A worker that finishes a step runs a child it made ready itself, without a
# broker hop, for at most this many steps or seconds per message: then it
# publishes, so that priorities and other runs get their turn.
OAWEB_CONTINUE_STEPS = env_int("OAWEB_CONTINUE_STEPS", 200, minimum=0)
OAWEB_CONTINUE_SECONDS = env_float("OAWEB_CONTINUE_SECONDS", 2.0)
# Beyond its free slots, the expected work (per slot) of short ready steps a
# worker keeps for itself instead of publishing them (workflows/execution/pace.py). 0: none.
OAWEB_CONTINUE_BACKLOG_SECONDS = env_float("OAWEB_CONTINUE_BACKLOG_SECONDS", 0.05)
# The same while no other worker on its queues has an idle slot (none could start them sooner):
# a published step would come back to this worker a broker hop later. Bounded still: a held step
# shows as running, and a step of seconds gains nothing from skipping a hop of milliseconds.
OAWEB_CONTINUE_BACKLOG_ALONE_SECONDS = env_float("OAWEB_CONTINUE_BACKLOG_ALONE_SECONDS", 0.25)
# How deep sub-workflows may nest: a step whose child run would be deeper fails (execution/subworkflows.py).
OAWEB_MAX_WORKFLOW_DEPTH = env_int("OAWEB_MAX_WORKFLOW_DEPTH", 10, minimum=1)
# How many items one map step may run over: a longer list fails the map step (execution/mapping.py).
OAWEB_MAX_MAP_ITEMS = env_int("OAWEB_MAX_MAP_ITEMS", 10_000, minimum=1)
# Events posted to a run while no step waits for them, kept for the steps that will: past this many
# not taken yet, a post is refused (execution/waits.py).
OAWEB_MAX_POSTED_EVENTS = env_int("OAWEB_MAX_POSTED_EVENTS", 100, minimum=0)
# How long a signed approval link works when its approval step has no deadline (execution/waits.py).
OAWEB_APPROVAL_LINK_DAYS = env_int("OAWEB_APPROVAL_LINK_DAYS", 30, minimum=1)
# Tests only: points on the step path where this process kills itself
# (workflows/execution/failpoints.py), e.g. "step.after_commit:3".
OAWEB_FAILPOINTS = env_list("OAWEB_FAILPOINTS")
OAWEB_MAX_OUTPUT_BYTES = env_int("OAWEB_MAX_OUTPUT_BYTES", 1024 * 1024, minimum=1024)
# A step's inputs once references are filled in, counted while they are built:
# room for several parents' whole outputs, not for one output repeated 200 times.
OAWEB_MAX_INPUT_BYTES = env_int("OAWEB_MAX_INPUT_BYTES", 8 * 1024 * 1024, minimum=1024)
# A step attempt's log (context.log and Python logging in its component), in bytes of
# UTF-8: lines past it are dropped and one "… truncated" line ends the log (0: keep none).
OAWEB_STEP_LOG_BYTES = env_int("OAWEB_STEP_LOG_BYTES", 1024 * 1024, minimum=0)

OAWEB_HTTP_ALLOW_PRIVATE = env_bool("OAWEB_HTTP_ALLOW_PRIVATE", False)
OAWEB_HTTP_TIMEOUT = env_float("OAWEB_HTTP_TIMEOUT", 10.0)
OAWEB_HTTP_MAX_BYTES = env_int("OAWEB_HTTP_MAX_BYTES", 1024 * 1024, minimum=1)

# --- Metrics -------------------------------------------------------------------
# Bearer token /metrics asks for. Empty: 403 to anonymous callers unless DEBUG is on
# (it names every team's workflows); staff sessions may always read it.
OAWEB_METRICS_TOKEN = env_str("OAWEB_METRICS_TOKEN")
# Finished runs older than this many days are deleted daily (prune_runs); 0: never.
OAWEB_PRUNE_AFTER_DAYS = env_int("OAWEB_PRUNE_AFTER_DAYS", 30, minimum=0)
# Beat's DatabaseScheduler writes this entry as a PeriodicTask when it starts
# (the task itself does nothing when OAWEB_PRUNE_AFTER_DAYS is 0).
CELERY_BEAT_SCHEDULE = {
    "oaweb-prune-runs": {"task": "oaweb.prune_runs", "schedule": crontab(minute=17, hour=3)},
}

OAWEB_LLM_BASE_URL = env_url("OAWEB_LLM_BASE_URL", ("http", "https"))
OAWEB_LLM_API_KEY = env_str("OAWEB_LLM_API_KEY")
OAWEB_LLM_MODEL = env_str("OAWEB_LLM_MODEL")
OAWEB_LLM_TIMEOUT = env_float("OAWEB_LLM_TIMEOUT", 60.0)

# --- Credentials, alerts, audit (issue 20) -------------------------------------
# Fernet keys for credentials at rest, comma-separated: the first encrypts, all decrypt
# (workflows/credentials/crypto.py). Unset: derived from SECRET_KEY in DEBUG or embedded
# mode; in distributed mode with DEBUG off, credentials can't be saved until it is set.
OAWEB_SECRETS_KEY = env_list("OAWEB_SECRETS_KEY")
# Where people reach this site (e.g. https://oaweb.example.com): alerts link to runs with it.
OAWEB_PUBLIC_URL = env_url("OAWEB_PUBLIC_URL", ("http", "https"))
# One alert delivery's HTTP or SMTP timeout; tries before giving up; the first retry's wait
# (doubled each time, at most an hour). workflows/alerts/delivery.py.
OAWEB_ALERT_TIMEOUT = env_float("OAWEB_ALERT_TIMEOUT", 5.0)
OAWEB_ALERT_MAX_ATTEMPTS = env_int("OAWEB_ALERT_MAX_ATTEMPTS", 6, minimum=1)
OAWEB_ALERT_RETRY_SECONDS = env_float("OAWEB_ALERT_RETRY_SECONDS", 30.0)
# E-mail alert channels go through Django's SMTP backend.
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = OAWEB_ALERT_TIMEOUT
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "oaweb@localhost")

# --- Auth, i18n, static ------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Served straight from static/ through the finders (the assets are few and
# vendored): no collectstatic step to forget. Set STATIC_ROOT to collect them
# for a front proxy instead.
STATIC_ROOT = env_str("STATIC_ROOT") or None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Tokens and URL credentials never reach a log line (workflows/redaction.py); daphne's
    # access log bypasses logging and is redacted from oaweb/asgi.py.
    "filters": {"redact": {"()": "workflows.redaction.RedactingFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # Django's default logging gives these loggers handlers of their own, which would print
    # without the filter (and, with DEBUG on, print each request warning twice): root's instead.
    "loggers": {
        "django": {"handlers": [], "propagate": True},
        "django.server": {"handlers": [], "propagate": True},
    },
}

# --- REST API ----------------------------------------------------------------
OAWEB_API_MAX_BODY_BYTES = env_int("OAWEB_API_MAX_BODY_BYTES", 2 * 1024 * 1024, minimum=1024)
# Django's own cap on request bodies, just above ours so ours answers first (413).
DATA_UPLOAD_MAX_MEMORY_SIZE = OAWEB_API_MAX_BODY_BYTES + 1024
OAWEB_WEBHOOK_MAX_MISSES = env_int("OAWEB_WEBHOOK_MAX_MISSES", 20, minimum=1)
OAWEB_WEBHOOK_MISS_WINDOW = env_int("OAWEB_WEBHOOK_MISS_WINDOW", 60, minimum=1)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "workflows.api.auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["workflows.api.throttles.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api": env_str("OAWEB_API_RATE", "1200/min")},
    "DEFAULT_PARSER_CLASSES": ["workflows.api.errors.StrictJSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "workflows.api.errors.SizeFirstNegotiation",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "workflows.api.errors.Pagination",
    "DEFAULT_SCHEMA_CLASS": "workflows.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "workflows.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "oaweb API",
    "DESCRIPTION": "Author, run and monitor workflows. See docs/api.md for examples.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Served from the drf-spectacular-sidecar package: no CDN at run time.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "RunStatusEnum": "workflows.execution.status.RunStatus",
        "StepStatusEnum": "workflows.execution.status.StepStatus",
        "AttemptStatusEnum": "workflows.execution.status.AttemptStatus",
        # Issue 20: the "kind" fields of credentials, alert channels and alert rules.
        "CredentialKindEnum": "workflows.credentials.types.KIND_CHOICES",
        "ChannelKindEnum": "workflows.alerts.models.ChannelKind",
        "RuleKindEnum": "workflows.alerts.models.RuleKind",
    },
}
