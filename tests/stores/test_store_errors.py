"""Store failures are typed, tenant scoping keeps keys apart, and backends load lazily."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

from lift.stores import (
    MemoryStore,
    StoreConfigurationError,
    StoreError,
    StoreUnavailable,
    scoped_key,
    store_from_url,
)
from lift.stores.dynamodb import DynamoDBStore
from lift.stores.redis import RedisStore


def test_redis_that_is_down_raises_store_unavailable(dead_port):
    store = RedisStore(f"redis://127.0.0.1:{dead_port}/0", timeout=0.5)
    with pytest.raises(StoreUnavailable):
        store.get("k")
    with pytest.raises(StoreUnavailable):
        store.increment("k", ttl=10)
    with pytest.raises(StoreUnavailable):
        store.put_if_absent("k", 1, ttl=10)


def test_dynamodb_that_is_down_raises_store_unavailable(dead_port):
    endpoint = f"http://127.0.0.1:{dead_port}"
    store = DynamoDBStore("lift-test", endpoint_url=endpoint, timeout=0.5)
    with pytest.raises(StoreUnavailable):
        store.get("k")
    with pytest.raises(StoreUnavailable):
        store.put_if_absent("k", 1, ttl=10)


def test_missing_dynamodb_table_is_a_configuration_error(dynamodb_endpoint):
    store = DynamoDBStore("no-such-table", endpoint_url=dynamodb_endpoint)
    with pytest.raises(StoreConfigurationError) as caught:
        store.get("k")
    assert "no-such-table" in str(caught.value)
    assert isinstance(caught.value, StoreError)


def test_create_table_is_idempotent(dynamodb_endpoint):
    from lift.stores.dynamodb import create_table

    create_table("lift-twice", endpoint_url=dynamodb_endpoint)
    create_table("lift-twice", endpoint_url=dynamodb_endpoint)
    store = DynamoDBStore("lift-twice", endpoint_url=dynamodb_endpoint)
    assert store.put_if_absent(f"k-{uuid.uuid4().hex}", "v", ttl=5)  # (a key of its own: the server may outlive a run)
    described = store.client.describe_time_to_live(TableName="lift-twice")
    assert described["TimeToLiveDescription"]["AttributeName"] == "expires_at"


def test_scoped_keys_differ_per_tenant_and_cannot_be_forged():
    assert scoped_key("idem", "k1", tenant_id="acme") != scoped_key("idem", "k1", tenant_id="globex")
    assert scoped_key("idem", "k1", tenant_id=None) != scoped_key("idem", "k1", tenant_id="acme")
    # A tenant id or key part containing the separator cannot reach another tenant's key.
    assert scoped_key("b", tenant_id="a#idem") != scoped_key("idem", "b", tenant_id="a")
    assert scoped_key("x#y") != scoped_key("x", "y")
    assert scoped_key("a%23b") != scoped_key("a#b")


def test_tenant_scoped_keys_isolate_values_in_one_store(store):
    store.put(scoped_key("idem", "order-1", tenant_id="acme"), {"owner": "acme"})
    assert store.get(scoped_key("idem", "order-1", tenant_id="globex")) is None
    assert store.put_if_absent(scoped_key("idem", "order-1", tenant_id="globex"), {"owner": "globex"})
    assert store.get(scoped_key("idem", "order-1", tenant_id="acme")) == {"owner": "acme"}


def test_store_from_url_picks_the_backend(redis_url, dynamodb_endpoint, dynamodb_table):
    assert isinstance(store_from_url("memory://"), MemoryStore)
    redis_store = store_from_url(redis_url)
    assert isinstance(redis_store, RedisStore)
    redis_store.put("from-url", 1, ttl=5)
    assert redis_store.get("from-url") == 1
    ddb = store_from_url(f"dynamodb://{dynamodb_table}?endpoint={dynamodb_endpoint}&region=us-east-1")
    assert isinstance(ddb, DynamoDBStore) and ddb.table == dynamodb_table
    ddb.put("from-url", 2, ttl=5)
    assert ddb.get("from-url") == 2
    with pytest.raises(ValueError):
        store_from_url("ftp://x")


def test_importing_stores_does_not_import_boto3_or_redis():
    code = (
        "import sys, lift.stores, lift.stores.dynamodb, lift.stores.redis\n"
        "s = lift.stores.MemoryStore(); s.put('k', 1)\n"
        "print(sorted(m for m in ('boto3', 'botocore', 'redis') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
