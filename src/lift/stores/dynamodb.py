"""A DynamoDB store (boto3, imported when the store is created).

Single-table layout, shared by every Lift feature (keys are already namespaced and
tenant-scoped by the features, see `lift.stores.scoped_key`):

    pk          S  partition key: "<prefix><key>"  (no sort key)
    v           B  the JSON-encoded value, or N for a counter made by `increment`
    expires_ms  N  exact expiry, epoch milliseconds (absent: never expires)
    expires_at  N  the same expiry in epoch seconds: the table's TTL attribute

DynamoDB deletes expired items lazily (within days), so every read and every conditional
write treats `expires_ms <= now` as absent. Writes that correctness depends on are
conditional (`put_if_absent`, `compare_and_set`, conditional delete, `increment` on a live
item); reads are strongly consistent. `create_table` makes the table (on-demand billing)
and turns TTL on.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from typing import Any

from lift.stage_names import StageTable
from lift.stores.base import (
    NotACounter,
    Store,
    StoreConfigurationError,
    StoreError,
    StoreUnavailable,
    check_ttl,
    decode_value,
    encode_value,
)

__all__ = ["DynamoDBStore", "create_table"]

_ITEM_LIMIT = 400 * 1024  # DynamoDB's item size limit: attribute names and values, in bytes
_ITEM_OVERHEAD = 64  # the names pk, v, expires_ms, expires_at and the two numbers
_MAX_PK_CHARS = 1024  # bytes of a partition key kept as it is (DynamoDB's limit is 2,048)
_LIVE = "(attribute_not_exists(expires_ms) OR expires_ms > :now)"
_ABSENT = "(attribute_not_exists(pk) OR expires_ms <= :now)"
_UNAVAILABLE_CODES = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionConflictException",
}
_CONFIGURATION_CODES = {
    "ResourceNotFoundException",
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "MissingAuthenticationTokenException",
    "ExpiredTokenException",
}


def _client(endpoint_url: str | None, region: str | None, timeout: float) -> Any:
    try:
        import boto3
        from botocore.config import Config
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError('DynamoDBStore needs boto3: pip install "lift-lambda[dynamodb]"') from exc
    config = Config(
        connect_timeout=timeout,
        read_timeout=timeout,
        retries={"max_attempts": 2, "mode": "standard"},
        max_pool_connections=50,
    )
    # A session of its own: boto3's default session is not safe to create clients from in threads.
    session = boto3.session.Session()
    return session.client("dynamodb", endpoint_url=endpoint_url, region_name=region, config=config)


def _error_code(exc: Exception) -> str:
    return getattr(exc, "response", {}).get("Error", {}).get("Code", "")


class _ConditionFailed(Exception):
    """A conditional write did not apply (internal signal, never raised to callers)."""

    def __init__(self, item: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.item = item


class DynamoDBStore(StageTable, Store):
    """A store on one DynamoDB table laid out as in the module docstring."""

    def __init__(
        self,
        table: str,
        *,
        client: Any = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        prefix: str = "",
        timeout: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.table = table
        self.clock = clock  # epoch seconds every expiry is judged by; tests move it instead of sleeping
        self.client = client if client is not None else _client(endpoint_url, region, timeout)
        self.prefix = prefix

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            NoCredentialsError,
            PartialCredentialsError,
        )

        try:
            return getattr(self.client, operation)(TableName=self.table_name, **kwargs)
        except ClientError as exc:
            code = _error_code(exc)
            if code == "ConditionalCheckFailedException":
                raise _ConditionFailed(getattr(exc, "response", {}).get("Item")) from None
            if code in _UNAVAILABLE_CODES:
                raise StoreUnavailable(f"dynamodb {operation}: {code}") from exc
            if code in _CONFIGURATION_CODES:
                raise StoreConfigurationError(f"dynamodb {operation} on table {self.table_name!r}: {code}") from exc
            if code == "ValidationException" and "incorrect data type" in str(exc):
                raise NotACounter(f"dynamodb {operation}: the key does not hold a number") from exc
            raise StoreError(f"dynamodb {operation}: {code}: {exc}") from exc
        except (NoCredentialsError, PartialCredentialsError) as exc:
            raise StoreConfigurationError(f"dynamodb {operation}: no AWS credentials") from exc
        except BotoCoreError as exc:
            raise StoreUnavailable(f"dynamodb {operation}: {exc}") from exc

    def _key(self, key: str) -> dict[str, Any]:
        return {"pk": {"S": self._pk(key)}}

    def _pk(self, key: str) -> str:
        """The item's partition key: `<prefix><key>`, or for a key over 1 KB its first 200 characters and
        its SHA-256 (DynamoDB refuses a partition key over 2,048 bytes; the other backends take any key)."""
        pk = self.prefix + key
        if len(pk) <= _MAX_PK_CHARS // 4 or len(pk.encode("utf-8", "surrogatepass")) <= _MAX_PK_CHARS:
            return pk
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
        return f"{self.prefix}{key[:200]}#sha256:{digest}"

    def _item(self, key: str, value: Any, ttl: float | None, now: float) -> dict[str, Any]:
        item = {"pk": {"S": self._pk(key)}, "v": {"B": encode_value(value)}}
        item.update(_expiry(ttl, now))
        return item

    def _now(self) -> dict[str, Any]:
        return {":now": {"N": str(int(self.clock() * 1000))}}

    def _read(self, key: str) -> dict[str, Any] | None:
        item = self._call("get_item", Key=self._key(key), ConsistentRead=True).get("Item")
        if item is None:
            return None
        expires = item.get("expires_ms")
        if expires is not None and int(expires["N"]) <= self.clock() * 1000:
            return None
        return item

    def get(self, key: str) -> Any:
        item = self._read(key)
        if item is None:
            return None
        return _value_of(item)

    def put(self, key: str, value: Any, ttl: float | None = None) -> None:
        self._call("put_item", Item=self._item(key, value, ttl, self.clock()))

    def put_if_absent(self, key: str, value: Any, ttl: float | None = None) -> bool:
        now = self.clock()
        try:
            self._call(
                "put_item",
                Item=self._item(key, value, ttl, now),
                ConditionExpression=_ABSENT,
                ExpressionAttributeValues={":now": {"N": str(int(now * 1000))}},
            )
        except _ConditionFailed:
            return False
        return True

    def put_if_absent_or_get(self, key: str, value: Any, ttl: float | None = None) -> tuple[bool, Any]:
        for _ in range(10):
            now = self.clock()
            try:
                self._call(
                    "put_item",
                    Item=self._item(key, value, ttl, now),
                    ConditionExpression=_ABSENT,
                    ExpressionAttributeValues={":now": {"N": str(int(now * 1000))}},
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
                return True, None
            except _ConditionFailed as failed:
                item = failed.item
            if item is None:  # an endpoint that does not return the old item: read it
                current = self.get(key)
                if current is not None:
                    return False, current
                continue
            return False, _value_of(item)
        raise StoreError(f"key {key!r} keeps expiring between the conditional put and the read")

    def compare_and_set(self, key: str, expected: Any, value: Any, ttl: float | None = None) -> bool:
        now = self.clock()
        try:
            self._call(
                "put_item",
                Item=self._item(key, value, ttl, now),
                ConditionExpression=f"v = :expected AND {_LIVE}",
                ExpressionAttributeValues={
                    ":expected": {"B": encode_value(expected)},
                    ":now": {"N": str(int(now * 1000))},
                },
            )
        except _ConditionFailed:
            return False
        return True

    def increment(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        while True:
            now = self.clock()
            expiry = _expiry(ttl, now)
            values = {":amount": {"N": str(int(amount))}, ":now": {"N": str(int(now * 1000))}}
            update = "ADD v :amount"
            if expiry:
                update += " SET expires_ms = if_not_exists(expires_ms, :ms), expires_at = if_not_exists(expires_at, :s)"
                values.update({":ms": expiry["expires_ms"], ":s": expiry["expires_at"]})
            try:
                answer = self._call(
                    "update_item",
                    Key=self._key(key),
                    UpdateExpression=update,
                    ConditionExpression=f"attribute_not_exists(pk) OR {_LIVE}",
                    ExpressionAttributeValues=values,
                    ReturnValues="UPDATED_NEW",
                )
                return int(answer["Attributes"]["v"]["N"])
            except _ConditionFailed:
                pass
            # The item exists but has expired (DynamoDB has not removed it yet): restart it at
            # `amount`, unless a concurrent caller restarted it first, in which case add again.
            item = {"pk": {"S": self._pk(key)}, "v": {"N": str(int(amount))}, **expiry}
            try:
                self._call(
                    "put_item",
                    Item=item,
                    ConditionExpression="expires_ms <= :now",
                    ExpressionAttributeValues={":now": values[":now"]},
                )
                return int(amount)
            except _ConditionFailed:
                continue

    def delete(self, key: str, expected: Any = None) -> bool:
        kwargs: dict[str, Any] = {"Key": self._key(key), "ReturnValues": "ALL_OLD"}
        if expected is None:
            kwargs["ConditionExpression"] = f"attribute_exists(pk) AND {_LIVE}"
            kwargs["ExpressionAttributeValues"] = self._now()
        else:
            kwargs["ConditionExpression"] = f"v = :expected AND {_LIVE}"
            kwargs["ExpressionAttributeValues"] = {":expected": {"B": encode_value(expected)}, **self._now()}
        try:
            self._call("delete_item", **kwargs)
        except _ConditionFailed:
            return False
        return True

    def ttl(self, key: str) -> float | None:
        item = self._read(key)
        if item is None or "expires_ms" not in item:
            return None
        return max(0.0, int(item["expires_ms"]["N"]) / 1000 - self.clock())

    def value_limit(self, key: str) -> int | None:
        return _ITEM_LIMIT - _ITEM_OVERHEAD - len(self._pk(key).encode("utf-8", "surrogatepass"))

    def close(self) -> None:
        self.client.close()


def _value_of(item: dict[str, Any]) -> Any:
    value = item["v"]
    return int(value["N"]) if "N" in value else decode_value(value["B"])


def _expiry(ttl: float | None, now: float) -> dict[str, Any]:
    if ttl is None:
        return {}
    check_ttl(ttl)
    deadline = now + ttl
    return {"expires_ms": {"N": str(int(deadline * 1000))}, "expires_at": {"N": str(math.ceil(deadline))}}


def create_table(
    table: str,
    *,
    client: Any = None,
    endpoint_url: str | None = None,
    region: str | None = None,
    wait: bool = True,
) -> None:
    """Create the store's table (on-demand billing, `pk` key) and enable TTL on `expires_at`.

    Does nothing when the table already exists.
    """
    client = client if client is not None else _client(endpoint_url, region, 10.0)
    try:
        client.create_table(
            TableName=table,
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
    except Exception as exc:
        if _error_code(exc) != "ResourceInUseException":
            raise
        return
    if wait:
        client.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    client.update_time_to_live(
        TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
    )
