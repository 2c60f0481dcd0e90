"""Per-token (else per-user) request rates; over the rate is a 429 with Retry-After.

The counts live in the shared cache (Redis in distributed mode). When it is
unreachable the same rate is counted in this process's memory instead: reads
that need only the database go on being served, and a client retrying hard
through an outage is still held to the rate on each server process.
"""

import time

from django.core.cache.backends.locmem import LocMemCache
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from workflows import outages
from workflows.tokens import ApiToken

# The fallback's counts: per process, forgotten when the process ends.
LOCAL_CACHE = LocMemCache("oaweb-throttle-fallback", {})
# After a failure the shared cache is left alone this long: a Redis host that
# is gone costs a connect timeout per attempt, which would otherwise be added
# to every request of the outage.
SHARED_RETRY_SECONDS = 5.0
_shared = {"down_until": 0.0}


class TokenRateThrottle(SimpleRateThrottle):
    scope = "api"

    def get_rate(self):
        # Read now, not at import (DRF's default), so a changed setting applies.
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiToken):
            ident = f"token-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"ip-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request, view):
        if time.monotonic() >= _shared["down_until"]:
            try:
                return super().allow_request(request, view)
            except Exception as exc:
                if outages.is_outage(exc) != outages.REDIS:
                    raise
                _shared["down_until"] = time.monotonic() + SHARED_RETRY_SECONDS
                outages.note(outages.REDIS, exc, "API throttle: counting in this process instead")
        self.cache = LOCAL_CACHE
        return super().allow_request(request, view)
