"""Settings for the test suite: the project's settings plus a throwaway key."""

import os

os.environ.setdefault("SECRET_KEY", "insecure-test-only-key")

from oaweb.settings import *  # noqa: E402,F403
