"""Settings of the throw-away test broker.

Everything a broker run needs comes from the environment (``tests/dasf/testbed.py`` sets it):

* ``DASF_TESTBROKER_STATE``: the folder holding the sqlite database (a temporary folder);
* ``DASF_STORE_MESSAGES``: dasf_broker's message storage, ``cache`` (default), ``cacheall``,
  ``store`` or ``disabled``;
* ``DASF_TESTBROKER_LOGLEVEL``: Python log level of the broker process (default WARNING).

Not for production: a fixed secret, sqlite, one daphne process with the in-memory channel
layer, listening on 127.0.0.1 only.
"""

import os
from pathlib import Path

STATE = Path(os.environ.get("DASF_TESTBROKER_STATE") or Path.cwd() / "broker-state")
STATE.mkdir(parents=True, exist_ok=True)

SECRET_KEY = "jupyter-rpc-test-broker-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    # dasf_broker keeps per-topic rights as guardian object permissions
    "guardian",
    # the websocket token middleware looks tokens up in DRF's authtoken table
    "rest_framework",
    "rest_framework.authtoken",
    "channels",
    "dasf_broker",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

ROOT_URLCONF = "testbroker.urls"
ASGI_APPLICATION = "testbroker.asgi.application"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(STATE / "broker.sqlite3"),
        # daphne runs the synchronous consumers in several threads
        "OPTIONS": {"timeout": 20},
    }
}

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]

# a single broker process: no Redis needed
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# dasf_broker's routes already start with this prefix (do not nest it again in asgi.py)
DASF_WEBSOCKET_URL_ROUTE = "ws/"
DASF_CREATE_TOPIC_ON_MESSAGE = True
DASF_STORE_MESSAGES = os.environ.get("DASF_STORE_MESSAGES", "cache")

USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {},
    }
]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "root": {
        "handlers": ["stderr"],
        "level": os.environ.get("DASF_TESTBROKER_LOGLEVEL", "WARNING"),
    },
}
