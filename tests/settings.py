"""Settings for the test suite: the project's own settings, with what tests need on top.

DATABASE_URL and REDIS_URL are honoured, so the same suite runs on the embedded default and on
PostgreSQL/Redis. Production hardening is tested separately, in a subprocess with DEBUG off.
"""

import os

os.environ.setdefault("DEBUG", "true")

from sigma_playground.settings import *  # noqa: F403
from sigma_playground.settings import CACHES, REDIS_URL

# Hashing with PBKDF2's full cost in every factory would dominate the suite's run time.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tasks run in the test's process unless a test starts a real worker on purpose.
CELERY_TASK_ALWAYS_EAGER = True
# The test client's own origin, so shared pages' absolute links read as the client's requests do.
SITE_URL = "http://testserver"
if REDIS_URL:
    # Keys of the test run are kept apart so clearing them between tests leaves nothing else behind.
    CACHES["default"]["KEY_PREFIX"] = "sp-test"

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not SQLite's default in-memory test database: the browser tests' ASGI server runs in a
    # process of its own and must read the rows a test writes (tests/browser/conftest.py). Named per
    # process so that parallel runs, and pytest-xdist's workers, never share one.
    import tempfile
    from pathlib import Path

    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": str(Path(tempfile.gettempdir()) / f"sigma-playground-test-{os.getpid()}.sqlite3")
    }
