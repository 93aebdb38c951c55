"""Django's Redis cache behind Redis Sentinel.

Django's RedisCache takes only URLs that redis-py's `ConnectionPool.from_url` reads, and redis-py has
no Sentinel URL. With a Sentinel URL as the cache's location, the settings name this pool class, which
reads the URL (sigma_playground.env.RedisLocation), asks the sentinels for the master, and asks again
when a connection to it fails, so the cache follows a failover.
"""

from __future__ import annotations

from typing import Any

from redis.sentinel import Sentinel, SentinelConnectionPool

from .env import RedisLocation


class SentinelCachePool(SentinelConnectionPool):
    @classmethod
    def from_url(cls, url: str, **options: Any) -> SentinelCachePool:
        location = RedisLocation.parse(url)
        # The sentinels are asked with the cache's own short timeouts: a dead sentinel must not
        # stall a page any longer than a dead Redis would.
        timeouts = {
            key: options[key]
            for key in ("socket_timeout", "socket_connect_timeout")
            if key in options
        }
        manager = Sentinel(list(location.sentinels), sentinel_kwargs=timeouts)
        return cls(
            location.master_name,
            manager,
            db=location.db,
            password=location.password,
            **options,
        )
