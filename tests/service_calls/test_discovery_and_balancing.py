"""Discovery (env, static, CloudFormation outputs, Cloud Map on moto) and load balancing over
real instances served by uvicorn."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from typing import Any

import boto3
import pytest

from lift.services import (
    CachedDiscovery,
    CloudMapDiscovery,
    Discovery,
    EnvDiscovery,
    HealthTracker,
    Instance,
    LeastOutstanding,
    ServiceClient,
    ServiceError,
    StackOutputDiscovery,
    StaticDiscovery,
    Weighted,
    register_instance,
)
from tests.servers import Served
from tests.service_calls.apps import users_app


@pytest.fixture(scope="module")
def instances():
    """Two instances of the users service ("a" and "b"), each on its own port."""
    served = {name: Served(users_app(instance=name)[0].asgi) for name in ("a", "b")}
    yield served
    for s in served.values():
        s.stop()


def who(client: ServiceClient, n: int) -> Counter:
    return Counter(client.get("/whoami")["instance"] for _ in range(n))


def test_round_robin_alternates(instances):
    client = ServiceClient("users", base_url=[instances["a"].url, instances["b"].url])
    assert who(client, 6) == {"a": 3, "b": 3}
    client.close()


def test_weighted_follows_weights_and_dynamic_changes(instances):
    balancer = Weighted()
    urls = [Instance(instances["a"].url, weight=3), Instance(instances["b"].url, weight=1)]
    client = ServiceClient("users", base_url=urls, balancer=balancer)
    assert who(client, 8) == {"a": 6, "b": 2}
    balancer.set_weight(instances["a"].url, 0)  # drain a at run time
    assert who(client, 4) == {"b": 4}
    client.close()


def test_least_outstanding_avoids_the_busy_instance(instances):
    balancer = LeastOutstanding()
    client = ServiceClient("users", base_url=[instances["a"].url, instances["b"].url], balancer=balancer)
    busy = threading.Thread(target=lambda: client.get("/slow", query={"ms": 1000}))
    busy.start()
    deadline = time.monotonic() + 5
    while not any(balancer.outstanding.values()) and time.monotonic() < deadline:
        time.sleep(0.01)
    slow_one = next(k for k, v in balancer.outstanding.items() if v == 1)
    picks = Counter(client.instance().url for _ in range(4))
    busy.join()
    assert slow_one not in picks and sum(picks.values()) == 4
    client.close()


def test_a_dead_instance_is_excluded_then_probed_back(instances):
    health = HealthTracker(failures=2, probe_after=0.3)
    client = ServiceClient(
        "users", base_url=[instances["a"].url, instances["b"].url], health=health, retry=3, breaker=False
    )
    instances["b"].stop(keep_port=True)
    try:
        # every call still succeeds (a refused connection is retried on the next instance)
        assert who(client, 6) == {"a": 6}
        assert health.excluded() == [instances["b"].url]
    finally:
        instances["b"].restart()
    time.sleep(0.35)  # past probe_after
    seen = who(client, 4)
    # (on a loaded machine the six calls above can outlast probe_after: b was probed then, still dead,
    # and its exclusion doubled; it is probed again when that ends)
    deadline = time.monotonic() + 10
    while not seen["b"] and time.monotonic() < deadline:
        time.sleep(0.05)
        seen += who(client, 4)
    assert seen["b"] >= 1 and health.excluded() == []  # the probe succeeded: b is back in rotation
    client.close()


def test_env_discovery_reads_the_variables(instances, monkeypatch):
    monkeypatch.setenv("LIFT_SERVICE_USER_API_URLS", f"{instances['a'].url};weight=2, {instances['b'].url}")
    found = EnvDiscovery("user-api").instances()
    assert [(i.url, i.weight) for i in found] == [(instances["a"].url, 2.0), (instances["b"].url, 1.0)]
    client = ServiceClient("user-api")
    assert set(who(client, 4)) == {"a", "b"}
    monkeypatch.delenv("LIFT_SERVICE_USER_API_URLS")
    with pytest.raises(ServiceError) as caught:
        client.get("/whoami")
    assert (caught.value.status, caught.value.code) == (503, "no_instances")
    client.close()


class Flaky(StaticDiscovery):
    def __init__(self, urls):
        super().__init__(urls)
        self.fail = False
        self.calls = 0

    def instances(self):
        self.calls += 1
        if self.fail:
            raise RuntimeError("registry down")
        return super().instances()


def test_cached_discovery_keeps_answers_for_the_ttl_and_serves_stale_on_error(instances):
    inner = Flaky([instances["a"].url])
    cached = CachedDiscovery(inner, ttl=0.2)
    for _ in range(5):
        cached.instances()
    assert inner.calls == 1
    time.sleep(0.25)
    inner.fail = True
    assert cached.instances()[0].url == instances["a"].url  # stale, logged, not an error
    assert inner.calls == 2


def _cloud_map(moto_endpoint: str, prefix: str, **service: Any) -> tuple[Any, str, str]:
    """A Cloud Map client on moto, a new HTTP namespace and its `users` service: (client, namespace, service id)."""
    from botocore.config import Config

    sd = boto3.client(
        "servicediscovery",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        config=Config(inject_host_prefix=False),
    )
    namespace = f"{prefix}-{uuid.uuid4().hex[:8]}.local"
    op = sd.create_http_namespace(Name=namespace)["OperationId"]
    namespace_id = sd.get_operation(OperationId=op)["Operation"]["Targets"]["NAMESPACE"]
    service_id = sd.create_service(Name="users", NamespaceId=namespace_id, **service)["Service"]["Id"]
    return sd, namespace, service_id


def test_cloud_map_discovery_on_moto(instances, moto_endpoint):
    sd, namespace, service_id = _cloud_map(moto_endpoint, "shop")
    register_instance(service_id, "users-a", instances["a"].url, attributes={"stage": "prod"}, client=sd)
    register_instance(service_id, "users-b", instances["b"].url, attributes={"stage": "dev"}, client=sd)

    discovery = CloudMapDiscovery(namespace, "users", query={"stage": "prod"}, client=sd)
    found = discovery.instances()
    assert [(i.url, i.id) for i in found] == [(instances["a"].url, "users-a")]
    client = ServiceClient(
        "users",
        discovery=CloudMapDiscovery(namespace, "users", endpoint_url=moto_endpoint, region="us-east-1"),
        discovery_ttl=60,
    )
    assert set(who(client, 4)) == {"a", "b"}
    assert client.discovery.lookups == 1  # cached: one DiscoverInstances for four calls
    client.close()


def test_stack_output_discovery_on_moto(instances, moto_endpoint):
    cfn = boto3.client("cloudformation", endpoint_url=moto_endpoint, region_name="us-east-1")
    stack = f"users-prod-{uuid.uuid4().hex[:6]}"
    template = {
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {"ApiUrl": {"Value": instances["b"].url}},
    }
    import json

    cfn.create_stack(StackName=stack, TemplateBody=json.dumps(template))
    client = ServiceClient("users", discovery=StackOutputDiscovery(stack, client=cfn))
    assert who(client, 2) == {"b": 2}
    with pytest.raises(ServiceError) as caught:
        ServiceClient("users", discovery=StackOutputDiscovery(stack, "Missing", client=cfn)).get("/whoami")
    assert caught.value.code == "no_instances"
    client.close()


def test_cloud_map_leaves_out_unhealthy_instances(instances, moto_endpoint):
    sd, namespace, service_id = _cloud_map(moto_endpoint, "health", HealthCheckCustomConfig={"FailureThreshold": 1})
    register_instance(service_id, "users-a", instances["a"].url, client=sd)
    register_instance(service_id, "users-b", instances["b"].url, client=sd)
    sd.update_instance_custom_health_status(ServiceId=service_id, InstanceId="users-b", Status="UNHEALTHY")
    found = CloudMapDiscovery(namespace, "users", client=sd).instances()
    assert [i.id for i in found] == ["users-a"]
    everything = CloudMapDiscovery(namespace, "users", health="ALL", client=sd).instances()
    assert sorted(i.id for i in everything) == ["users-a", "users-b"]


def test_one_instance_with_a_bad_weight_does_not_fail_the_lookup(instances, moto_endpoint, caplog):
    """`float("lots")` failed the whole DiscoverInstances answer: every call to the service was a
    503 no_instances because of one operator's typo on one instance."""
    sd, namespace, service_id = _cloud_map(moto_endpoint, "weights")
    register_instance(service_id, "users-a", instances["a"].url, attributes={"weight": "3"}, client=sd)
    for name, weight in (("b", "lots"), ("c", "-2"), ("d", "nan")):
        register_instance(service_id, f"users-{name}", instances["b"].url, attributes={"weight": weight}, client=sd)
    with caplog.at_level("WARNING", logger="lift.services"):
        found = CloudMapDiscovery(namespace, "users", client=sd).instances()
    assert sorted((i.id, i.weight) for i in found) == [
        ("users-a", 3.0),
        ("users-b", 1.0),
        ("users-c", 1.0),
        ("users-d", 1.0),
    ]
    assert sorted(r.args[0] for r in caplog.records if "weight" in r.getMessage()) == ["users-b", "users-c", "users-d"]


def test_a_discovery_api_that_never_answers_ends_in_a_503_after_two_short_tries():
    """botocore's defaults (60 s to connect and to read, 5 tries) held every call for minutes where
    Cloud Map or CloudFormation cannot be reached (a VPC with no route to them), far past Lambda's
    deadline, instead of the documented 503 no_instances."""
    from tests.service_calls.test_hostile_upstreams import WireServer

    silent = WireServer({})
    silent.routes["/"] = lambda conn: silent.release.wait(30)  # reads the request, never answers
    try:
        for discovery in (
            CloudMapDiscovery("shop", "users", endpoint_url=silent.url, region="us-east-1", timeout=0.2),
            StackOutputDiscovery("users-prod", endpoint_url=silent.url, region="us-east-1", timeout=0.2),
        ):
            silent.hits.clear()
            client = ServiceClient("users", discovery=discovery, breaker=False)
            with pytest.raises(ServiceError) as caught:
                client.get("/whoami")
            assert (caught.value.status, caught.value.code) == (503, "no_instances")
            arrived = time.monotonic() + 30  # (the server counts a request in its own thread)
            while silent.hits.get("/", 0) < 2 and time.monotonic() < arrived:
                time.sleep(0.01)
            assert silent.hits == {"/": 2}  # two tries, each cut at 0.2 s
            client.close()
    finally:
        silent.stop()


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1.0, "heavy"], ids=["nan", "inf", "negative", "text"])
def test_a_weight_that_is_not_a_finite_number_is_refused_and_balancing_goes_on(instances, bad):
    """`set_weight(id, nan)` was accepted: every running score became NaN and from then on one instance
    got every call (`inf` did the same through inf - inf). Now it is a ValueError that changes nothing,
    and so is such a weight given to `Instance` or `Weighted`."""
    balancer = Weighted()
    urls = [Instance(instances["a"].url, weight=3), Instance(instances["b"].url, weight=1)]
    client = ServiceClient("users", base_url=urls, balancer=balancer)
    assert who(client, 4) == {"a": 3, "b": 1}
    with pytest.raises(ValueError, match="weight"):
        balancer.set_weight(instances["b"].url, bad)
    assert who(client, 8) == {"a": 6, "b": 2}
    with pytest.raises(ValueError, match="weight"):
        Instance(instances["a"].url, weight=bad)
    with pytest.raises(ValueError, match="weight"):
        Weighted({instances["a"].url: bad})
    client.close()


def test_a_bad_weight_in_the_environment_is_read_as_one(instances, caplog):
    """`LIFT_SERVICE_<NAME>_URLS="...;weight=nan"`: logged and read as 1, as Cloud Map's attribute (it was
    a NaN weight, and `;weight=abc` failed every call's lookup with 503 no_instances)."""
    env = {"LIFT_SERVICE_USERS_URLS": f"{instances['a'].url};weight=nan, {instances['b'].url};weight=abc"}
    client = ServiceClient("users", discovery=EnvDiscovery("users", environ=env), balancer="weighted")
    with caplog.at_level("WARNING", logger="lift.services"):
        assert who(client, 4) == {"a": 2, "b": 2}
    assert "not a number >= 0: read as 1" in caplog.text
    client.close()


class GatedDiscovery(Discovery):
    """A provider (the public extension point) whose lookups after the first wait for `gate`: a Cloud Map
    that has stopped answering."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.gate = threading.Event()
        self.waiting = threading.Event()
        self.calls = 0

    def instances(self) -> list[Instance]:
        self.calls += 1
        if self.calls > 1:
            self.waiting.set()
            self.gate.wait(30)
        return [Instance(self.url)]


def test_while_one_call_refreshes_discovery_the_others_use_the_last_answer(instances):
    """CachedDiscovery refreshed under a lock: once the answer expired, every call waited for the one
    lookup in progress (up to two tries of 2 s on Cloud Map), whatever its own deadline. Now the one
    that refreshes waits; the others are served the answer being replaced."""
    inner = GatedDiscovery(instances["a"].url)
    client = ServiceClient("users", discovery=CachedDiscovery(inner, ttl=0.0), breaker=False)
    assert client.get("/whoami")["instance"] == "a"  # the first answer
    refresher = threading.Thread(target=lambda: client.get("/whoami"), daemon=True)
    refresher.start()
    assert inner.waiting.wait(30)
    other: list[object] = []
    caller = threading.Thread(target=lambda: other.append(client.get("/whoami")), daemon=True)
    caller.start()
    caller.join(20)  # (runs out only when the call waits for the refresh)
    refreshing = not inner.gate.is_set()
    inner.gate.set()
    refresher.join(30)
    assert [answer["instance"] for answer in other] == ["a"] and refreshing
    assert inner.calls == 2
    client.close()


@pytest.mark.parametrize(
    "options",
    [{"probe_after": float("nan")}, {"max_probe_after": float("nan")}, {"probe_after": -1.0}, {"failures": 0}],
    ids=["nan-probe-after", "nan-max-probe-after", "negative-probe-after", "no-failures"],
)
def test_a_health_tracker_setting_that_would_exclude_for_good_is_refused(options):
    """probe_after=nan made an excluded instance's exclusion end never (now >= nan is false): out of
    rotation for good (a negative one, or failures=0, means nothing either). Such settings are a ValueError
    when the tracker is made."""
    with pytest.raises(ValueError, match="HealthTracker"):
        HealthTracker(**options)
