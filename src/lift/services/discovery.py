"""Where a service's instances are: static lists, environment variables, CloudFormation stack
outputs, AWS Cloud Map; and a TTL cache in front of the ones that make network calls.

    StaticDiscovery(["http://10.0.0.5:8000", Instance("http://10.0.0.6:8000", weight=2)])
    EnvDiscovery("users")           # LIFT_SERVICE_USERS_URL, or LIFT_SERVICE_USERS_URLS="u1,u2;weight=3"
    StackOutputDiscovery("users-prod", output="ApiUrl")                   # cached
    CloudMapDiscovery("shop.local", "users", query={"stage": "prod"})     # cached, health-filtered

Every provider answers `instances() -> list[Instance]`. The network-backed ones are wrapped in
`CachedDiscovery` (TTL, default 30 s): a lookup costs a dict read while the entry is fresh, and
when a refresh fails the last good answer is served (logged) rather than failing every call.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "Instance",
    "Discovery",
    "StaticDiscovery",
    "EnvDiscovery",
    "StackOutputDiscovery",
    "CloudMapDiscovery",
    "CachedDiscovery",
    "NoInstances",
    "register_instance",
    "deregister_instance",
]

_log = logging.getLogger("lift.services")


class NoInstances(LookupError):
    """Discovery found no instance of a service (the client answers 503 `no_instances`)."""


class Instance:
    """One place a service answers: its base URL, a weight for weighted balancing, attributes."""

    __slots__ = ("url", "weight", "id", "attributes", "healthy")

    def __init__(
        self,
        url: str,
        weight: float = 1.0,
        id: str | None = None,
        attributes: dict[str, str] | None = None,
        healthy: bool = True,
    ) -> None:
        self.url = url.rstrip("/")
        self.weight = checked_weight(weight)
        self.id = id or self.url
        self.attributes = attributes or {}
        self.healthy = healthy

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Instance) and (self.id, self.url, self.weight) == (other.id, other.url, other.weight)

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"Instance({self.url!r}, weight={self.weight}, id={self.id!r})"


def checked_weight(weight: Any) -> float:
    """`weight` when it is a finite number >= 0; else a ValueError. A NaN or infinite weight would
    poison smooth weighted round robin: its running scores become NaN, and from then on one instance
    gets every call (or none does)."""
    if weight.__class__ is not bool:
        try:
            value = float(weight)
        except (TypeError, ValueError):
            value = -1.0
        if 0 <= value < float("inf"):  # (False for NaN)
            return value
    raise ValueError(f"an instance's weight is a finite number >= 0, not {weight!r}")


def _as_instances(items: Iterable[str | Instance]) -> list[Instance]:
    return [item if isinstance(item, Instance) else Instance(item) for item in items]


class Discovery:
    """A source of instances."""

    def instances(self) -> list[Instance]:
        raise NotImplementedError

    def invalidate(self) -> None:
        """Forget any cached answer (no-op for providers that cache nothing)."""


class StaticDiscovery(Discovery):
    """A fixed list, from configuration."""

    def __init__(self, urls: str | Instance | Sequence[str | Instance]) -> None:
        items = [urls] if isinstance(urls, str | Instance) else list(urls)
        self._instances = _as_instances(items)
        if not self._instances:
            raise ValueError("StaticDiscovery needs at least one URL")

    def instances(self) -> list[Instance]:
        return self._instances


def parse_url_list(text: str) -> list[Instance]:
    """`"http://a:8000, http://b:8000;weight=3"` -> instances (weights default to 1)."""
    out = []
    for part in text.split(","):
        url, *params = (p.strip() for p in part.split(";"))
        if not url:
            continue
        weight = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "weight":
                try:
                    weight = checked_weight(value.strip())
                except ValueError:
                    _log.warning("%s has weight %r, not a number >= 0: read as 1", url, value.strip())
        out.append(Instance(url, weight))
    return out


class EnvDiscovery(Discovery):
    """`LIFT_SERVICE_<NAME>_URLS` (a comma-separated list, `;weight=N` per URL) or `..._URL`.

    Read on every lookup (an environment read costs nanoseconds), so tests and operators can
    change it at run time. `<NAME>` is the service name upper-cased, `-` and `.` as `_`.
    """

    def __init__(self, name: str, environ: Any = None) -> None:
        self.name = name
        key = "LIFT_SERVICE_" + name.upper().replace("-", "_").replace(".", "_")
        self.keys = (key + "_URLS", key + "_URL")
        self.environ = os.environ if environ is None else environ
        self._cache: tuple[str, list[Instance]] | None = None

    def instances(self) -> list[Instance]:
        for key in self.keys:
            text = self.environ.get(key)
            if text:
                cached = self._cache
                if cached is None or cached[0] != text:
                    cached = self._cache = (text, parse_url_list(text))
                return cached[1]
        raise NoInstances(f"service {self.name}: set {self.keys[0]} or {self.keys[1]}")


def _boto3_client(
    service: str, client: Any, endpoint_url: str | None, region: str | None, timeout: float | None = None
) -> Any:
    if client is not None:
        return client
    try:
        import boto3
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(f'{service} discovery needs boto3: pip install "lift-lambda[aws]"') from exc
    options: dict[str, Any] = {}
    if endpoint_url is not None:
        # DiscoverInstances is sent to `data-<endpoint>`; a custom endpoint (a local emulator,
        # a VPC endpoint) is used as given
        options["inject_host_prefix"] = False
    if timeout is not None:
        # a lookup runs inside a call: botocore's defaults (60 s to connect, 60 s to read, 5 tries
        # in legacy mode) held it for minutes where the API cannot be reached (a VPC without a
        # route to it), far past Lambda's deadline; now at most 2 tries of `timeout`, then the last
        # good answer (CachedDiscovery) or a 503 no_instances
        options.update(
            connect_timeout=timeout, read_timeout=timeout, retries={"mode": "standard", "total_max_attempts": 2}
        )
    config = None
    if options:
        from botocore.config import Config

        config = Config(**options)
    return boto3.client(service, endpoint_url=endpoint_url, region_name=region, config=config)


LOOKUP_TIMEOUT = 2.0  # seconds to connect to, and to read from, Cloud Map or CloudFormation per try


def _weight(item: dict[str, Any], attrs: dict[str, Any]) -> float:
    """The instance's `weight` attribute; one that is not a finite number >= 0 is logged and read as 1
    (one operator's typo must not fail every lookup of the service)."""
    text = attrs.get("weight")
    if not text:
        return 1.0
    try:
        return checked_weight(text)
    except ValueError:
        _log.warning("cloud map instance %s has weight %r, not a number >= 0: read as 1", item.get("InstanceId"), text)
        return 1.0


SERVICE_URL_OUTPUT = "ApiUrl"  # the stack output `lift deploy` writes the service's URL to


class StackOutputDiscovery(Discovery):
    """The URL a CloudFormation stack exports as an output (`describe_stacks`).

    `stack` is the stack's name (e.g. `"users-prod"`: one stack per service and stage);
    `output` the output key holding the base URL. Wrap in `CachedDiscovery` (as `app.service`
    does): CloudFormation's API is slow and rate-limited.
    """

    def __init__(
        self,
        stack: str,
        output: str = SERVICE_URL_OUTPUT,
        *,
        client: Any = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        timeout: float = LOOKUP_TIMEOUT,
    ) -> None:
        self.stack = stack
        self.output = output
        self._client = client
        self._endpoint_url = endpoint_url
        self._region = region
        self.timeout = timeout

    @classmethod
    def for_service(
        cls, service: str, stage: str, output: str = SERVICE_URL_OUTPUT, **options: Any
    ) -> StackOutputDiscovery:
        """The stack `lift deploy` creates for `service` at `stage` (named `<service>-<stage>`,
        the deploy model's default stack name)."""
        return cls(f"{service}-{stage}", output, **options)

    def instances(self) -> list[Instance]:
        self._client = client = _boto3_client(
            "cloudformation", self._client, self._endpoint_url, self._region, self.timeout
        )
        stacks = client.describe_stacks(StackName=self.stack).get("Stacks") or []
        for stack in stacks:
            for output in stack.get("Outputs") or []:
                if output.get("OutputKey") == self.output:
                    return [Instance(output["OutputValue"], id=f"{self.stack}:{self.output}")]
        raise NoInstances(f"stack {self.stack} has no output {self.output}")


class CloudMapDiscovery(Discovery):
    """AWS Cloud Map `DiscoverInstances`: healthy instances of `service` in `namespace`.

    An instance's URL is its `URL` attribute when it has one, else
    `{scheme}://{AWS_INSTANCE_IPV4}:{AWS_INSTANCE_PORT}`; a `weight` attribute feeds weighted
    balancing. `query` filters on custom attributes (`{"stage": "prod"}`); `health` is passed as
    `HealthStatus` (`HEALTHY` by default: unhealthy instances never receive calls).
    """

    def __init__(
        self,
        namespace: str,
        service: str,
        *,
        query: dict[str, str] | None = None,
        health: str = "HEALTHY",
        scheme: str = "http",
        client: Any = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        timeout: float = LOOKUP_TIMEOUT,
    ) -> None:
        self.namespace = namespace
        self.service = service
        self.query = query
        self.health = health
        self.scheme = scheme
        self._client = client
        self._endpoint_url = endpoint_url
        self._region = region
        self.timeout = timeout

    def instances(self) -> list[Instance]:
        self._client = client = _boto3_client(
            "servicediscovery", self._client, self._endpoint_url, self._region, self.timeout
        )
        kwargs: dict[str, Any] = {"NamespaceName": self.namespace, "ServiceName": self.service}
        if self.health:
            kwargs["HealthStatus"] = self.health
        if self.query:
            kwargs["QueryParameters"] = self.query
        found = client.discover_instances(**kwargs).get("Instances") or []
        out = []
        for item in found:
            attrs = item.get("Attributes") or {}
            url = attrs.get("URL")
            if not url and attrs.get("AWS_INSTANCE_IPV4"):
                url = f"{self.scheme}://{attrs['AWS_INSTANCE_IPV4']}:{attrs.get('AWS_INSTANCE_PORT', '80')}"
            if not url:
                _log.warning("cloud map instance %s has no URL or IPv4 attribute", item.get("InstanceId"))
                continue
            health = item.get("HealthStatus")
            out.append(
                Instance(
                    url,
                    _weight(item, attrs),
                    item.get("InstanceId"),
                    attrs,
                    healthy=health in (None, "HEALTHY", "UNKNOWN"),
                )
            )
        return out


class CachedDiscovery(Discovery):
    """`inner`'s answer kept for `ttl` seconds; a failed refresh serves the stale answer if any."""

    def __init__(self, inner: Discovery, ttl: float = 30.0, *, stale_for: float = 300.0) -> None:
        self.inner = inner
        self.ttl = ttl
        self.stale_for = stale_for
        self._value: list[Instance] | None = None
        self._expires = 0.0
        self._fetched = 0.0
        self._lock = threading.Lock()
        self.lookups = 0  # calls that reached `inner`, for metrics and tests

    def instances(self) -> list[Instance]:
        value = self._value
        if value is not None and time.monotonic() < self._expires:
            return value
        # One caller refreshes; while it does, the others are served the answer it is replacing instead
        # of all waiting on the lock for the lookup (up to two tries of 2 s on Cloud Map), whatever
        # their own deadlines. Only with no answer yet do they wait for it.
        if value is None:
            self._lock.acquire()
        elif not self._lock.acquire(blocking=False):
            return value
        try:
            return self._refresh()
        finally:
            self._lock.release()

    def _refresh(self) -> list[Instance]:
        if self._value is not None and time.monotonic() < self._expires:
            return self._value  # another thread refreshed it meanwhile
        self.lookups += 1
        try:
            value = self.inner.instances()
        except Exception as exc:
            stale = self._value
            if stale is not None and time.monotonic() - self._fetched < self.stale_for:
                _log.warning("discovery refresh failed (%s); serving the last answer", exc)
                self._expires = time.monotonic() + min(self.ttl, 5.0)
                return stale
            raise
        now = time.monotonic()
        self._value, self._expires, self._fetched = value, now + self.ttl, now
        return value

    def invalidate(self) -> None:
        self._expires = 0.0


def register_instance(
    namespace_service_id: str,
    instance_id: str,
    url: str,
    *,
    attributes: dict[str, str] | None = None,
    client: Any = None,
    endpoint_url: str | None = None,
    region: str | None = None,
) -> str:
    """Register this service's endpoint in Cloud Map (`RegisterInstance`); returns the operation id.

    Call it once the endpoint answers (e.g. after deploying, or at container start). In a service
    created with a custom health check, the instance's health is what `UpdateInstanceCustomHealthStatus`
    last said (a stage deployed by Lift reports its `/health/ready` checks: `lift.cloud_map_health`).
    """
    client = _boto3_client("servicediscovery", client, endpoint_url, region)
    attrs = {"URL": url, **(attributes or {})}
    answer = client.register_instance(ServiceId=namespace_service_id, InstanceId=instance_id, Attributes=attrs)
    return answer.get("OperationId", "")


def deregister_instance(
    namespace_service_id: str,
    instance_id: str,
    *,
    client: Any = None,
    endpoint_url: str | None = None,
    region: str | None = None,
) -> str:
    """Remove an instance from Cloud Map (`DeregisterInstance`); returns the operation id."""
    client = _boto3_client("servicediscovery", client, endpoint_url, region)
    return client.deregister_instance(ServiceId=namespace_service_id, InstanceId=instance_id).get("OperationId", "")
