"""Idempotent GETs cached with lift.cache's @cached: one call to the callee per key and TTL,
shared by execution environments through an L2 store."""

from __future__ import annotations

import pytest

from lift.services import ServiceClient
from tests.service_calls.apps import User

cache_module = pytest.importorskip("lift.cache")


def test_cached_get_reaches_the_callee_once_per_key(users):
    client = ServiceClient("users", base_url=users.url)
    cache = cache_module.Cache()

    @cache_module.cached(ttl=60, cache=cache)
    def user(user_id: int) -> User:
        return client.get("/users/{user_id}", user_id=user_id, response=User)

    assert [user(1), user(1), user(2), user(1)] == [User(1, "Ada"), User(1, "Ada"), User(2, "Linus"), User(1, "Ada")]
    assert users.rec.hits["/users/{user_id}"] == 2
    client.close()


def test_a_cached_answer_is_shared_through_redis_and_keeps_its_type(users, redis_url):
    from lift.stores import RedisStore

    def environment():
        client = ServiceClient("users", base_url=users.url)
        cache = cache_module.Cache(RedisStore(redis_url, prefix="svc-cache-test:"), namespace="svc")

        @cache_module.cached(ttl=60, cache=cache, name="users.get")
        def user(user_id: int) -> User:
            return client.get("/users/{user_id}", user_id=user_id, response=User)

        return user, cache, client

    first, first_cache, a = environment()
    second, second_cache, b = environment()
    first_cache.invalidate(prefix="users.get")
    assert first(2) == User(2, "Linus")
    assert second(2) == User(2, "Linus")  # read from Redis by the other environment, as a User again
    assert users.rec.hits["/users/{user_id}"] == 1
    a.close()
    b.close()
