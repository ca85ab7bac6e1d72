"""Traffic shifting, rollback, multi-region waves, DR failover and SLO reports against moto server."""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
import uuid
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest

from lift.deploy import dr
from lift.deploy.regions import rollout
from lift.deploy.releases import Release, plan_for, rollback_alias
from tests.deploy.conftest import gate_alarm


def _zip(text: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("app.py", text)
    return buf.getvalue()


@pytest.fixture(scope="module")
def role_arn(moto_endpoint: str) -> str:
    iam = boto3.client("iam", endpoint_url=moto_endpoint)
    name = f"lift-release-{uuid.uuid4().hex[:6]}"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(policy))["Role"]["Arn"]


class Service:
    """A function with version 1 live on alias `live` and a new build ready to publish, in one region."""

    def __init__(self, endpoint: str, role: str, region: str = "us-east-1") -> None:
        self.region = region
        self.lam = boto3.client("lambda", endpoint_url=endpoint, region_name=region)
        self.cw = boto3.client("cloudwatch", endpoint_url=endpoint, region_name=region)
        self.name = f"svc-{uuid.uuid4().hex[:8]}"
        self.lam.create_function(
            FunctionName=self.name,
            Runtime="python3.12",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": _zip("def handler(e, c):\n    return 1\n")},
        )
        self.old = self.lam.publish_version(FunctionName=self.name)["Version"]
        self.lam.create_alias(FunctionName=self.name, Name="live", FunctionVersion=self.old)
        self.lam.update_function_code(FunctionName=self.name, ZipFile=_zip("def handler(e, c):\n    return 2\n"))
        self.alarm = f"{self.name}-errors"
        gate_alarm(self.cw, self.alarm)

    def alias(self) -> dict:
        return self.lam.get_alias(FunctionName=self.name, Name="live")

    def release(self, strategy: str = "canary", sleep=None, **options) -> Release:
        """A release on simulated time: each step lasts 300 s, watched every 100 s; `sleep(seconds)`
        is called at each watch (what happens meanwhile) and the clock moves on by `seconds`."""
        plan = plan_for(strategy, percent=10, interval=300, alarms=[self.alarm], poll_seconds=100, **options)
        now = [0.0]

        def advance(seconds: float) -> None:
            if sleep is not None:
                sleep(seconds)
            now[0] += seconds

        return Release(self.lam, self.cw, self.name, "live", plan, sleep=advance, clock=lambda: now[0])


@pytest.fixture
def service(moto_endpoint, role_arn) -> Service:
    return Service(moto_endpoint, role_arn)


def test_a_canary_shifts_in_steps_and_promotes(service):
    seen = []
    release = service.release(sleep=lambda s: seen.append(service.alias()))
    result = release.run()
    assert result.ok and result.old_version == service.old and result.new_version != service.old
    during = seen[0]  # what Lambda routed while the canary step was being watched
    assert during["FunctionVersion"] == service.old
    assert during["RoutingConfig"]["AdditionalVersionWeights"] == {result.new_version: 0.1}
    final = service.alias()
    assert final["FunctionVersion"] == result.new_version and not final.get("RoutingConfig", {}).get(
        "AdditionalVersionWeights"
    )
    assert [e["percent"] for e in result.events if e["kind"] == "shift"] == [10, 100]
    assert rollback_alias(service.lam, service.name, "live") == (result.new_version, service.old)
    assert service.alias()["FunctionVersion"] == service.old


def test_an_alarm_firing_mid_shift_rolls_back_to_the_old_version(service):
    def alarm_fires(_seconds):  # while the 10% step is watched, the errors alarm goes off in CloudWatch
        service.cw.set_alarm_state(AlarmName=service.alarm, StateValue="ALARM", StateReason="errors on the canary")

    result = service.release(sleep=alarm_fires).run()
    assert (
        result.verdict == "rolled_back" and service.alarm in result.reason and "errors on the canary" in result.reason
    )
    alias = service.alias()
    assert alias["FunctionVersion"] == service.old and not alias.get("RoutingConfig", {}).get(
        "AdditionalVersionWeights"
    )
    assert [e["kind"] for e in result.events][-2:] == ["rollback", "verdict"]


def test_ctrl_c_rolls_back(service):
    def interrupted(_seconds):
        raise KeyboardInterrupt

    result = service.release(strategy="linear", sleep=interrupted).run()
    assert result.verdict == "interrupted" and service.alias()["FunctionVersion"] == service.old


def test_linear_steps_and_a_failing_gate_before_traffic(service):
    assert [s.percent for s in plan_for("linear", percent=25).steps] == [25, 50, 75, 100]
    service.cw.set_alarm_state(AlarmName=service.alarm, StateValue="ALARM", StateReason="already failing")
    result = service.release().run()
    assert result.verdict == "rolled_back" and not [e for e in result.events if e["kind"] == "shift"]


def test_blue_green_checks_health_before_any_traffic(service):
    plan = plan_for("blue-green", alarms=[service.alarm], poll_seconds=0.01)  # bake 0: no waiting
    checked = []
    bad = Release(
        service.lam,
        service.cw,
        service.name,
        "live",
        plan,
        sleep=lambda s: None,
        health_check=lambda version: checked.append(version) or False,
    )
    result = bad.run()
    assert result.verdict == "rolled_back" and "health check" in result.reason and checked == [result.new_version]
    assert service.alias()["FunctionVersion"] == service.old
    good = Release(
        service.lam, service.cw, service.name, "live", plan, sleep=lambda s: None, health_check=lambda v: True
    )
    assert good.run(new_version=result.new_version).ok
    assert service.alias()["FunctionVersion"] == result.new_version


def test_a_multi_region_rollout_halts_and_rolls_back_the_regions_already_done(moto_endpoint, role_arn):
    east = Service(moto_endpoint, role_arn, "us-east-1")
    west = Service(moto_endpoint, role_arn, "eu-west-1")
    west.cw.set_alarm_state(AlarmName=west.alarm, StateValue="ALARM", StateReason="eu errors")
    services = {"us-east-1": east, "eu-west-1": west}
    events = []
    result = rollout(["us-east-1", "eu-west-1"], lambda region: services[region].release(), on_event=events.append)
    assert result.verdict == "halted" and result.failed_region == "eu-west-1" and "eu errors" in result.reason
    assert result.results["us-east-1"].ok and result.rolled_back == ["us-east-1"]
    assert east.alias()["FunctionVersion"] == east.old and west.alias()["FunctionVersion"] == west.old
    assert [e["kind"] for e in events] == ["wave", "wave_done", "wave", "rollback", "halted"]


def test_a_parallel_rollout_promotes_every_region(moto_endpoint, role_arn):
    regions = ["us-east-1", "us-west-2", "eu-west-1"]
    services = {r: Service(moto_endpoint, role_arn, r) for r in regions}
    result = rollout(regions, lambda region: services[region].release(), mode="parallel", limit=2)
    assert result.ok and all(services[r].alias()["FunctionVersion"] == result.results[r].new_version for r in regions)


class Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/health/ready" else 404)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def test_dr_failover_flips_the_records_and_checks_the_new_primary(moto_endpoint):
    route53 = boto3.client("route53", endpoint_url=moto_endpoint)
    zone = route53.create_hosted_zone(Name=f"{uuid.uuid4().hex[:6]}.example.com", CallerReference=uuid.uuid4().hex)
    zone_id = zone["HostedZone"]["Id"]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    local = f"127.0.0.1:{server.server_address[1]}"
    door = dr.FrontDoor(
        zone_id,
        f"api.{zone['HostedZone']['Name']}".rstrip("."),
        [dr.Region("us-east-1", "use1.example.com"), dr.Region("eu-west-1", "euw1.example.com")],
    )
    dr.ensure_front_door(route53, door)
    before = dr.status(route53, door)
    assert before["serving"] == "us-east-1" and [r["role"] for r in before["regions"]] == ["PRIMARY", "SECONDARY"]
    sns = boto3.client("sns", endpoint_url=moto_endpoint)
    sqs = boto3.client("sqs", endpoint_url=moto_endpoint)
    topic = sns.create_topic(Name=f"dr-{uuid.uuid4().hex[:6]}")["TopicArn"]
    queue = sqs.create_queue(QueueName=f"dr-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    verify = lambda region: dr.url_answers(f"http://{local}{region.health_path}")  # noqa: E731  (the real HTTP check)
    entry = dr.failover(route53, door, "eu-west-1", verify=verify, notify=dr.sns_notifier(sns, topic))
    assert entry["from"] == "us-east-1" and entry["to"] == "eu-west-1" and entry["new_primary_answers"] is True
    after = dr.status(route53, door)
    assert after["serving"] == "eu-west-1" and [r["role"] for r in after["regions"]] == ["SECONDARY", "PRIMARY"]
    [message] = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"]
    assert json.loads(message["Body"])["to"] == "eu-west-1"
    report = dr.drill(route53, door, verify=verify)
    assert report["passed"] and [s["to"] for s in report["steps"]] == ["us-east-1", "eu-west-1"]
    server.shutdown()


def test_front_door_health_checks_detect_a_dead_region_in_about_30_seconds():
    door = dr.FrontDoor("Z1", "api.example.com", [dr.Region("us-east-1", "a.example.com"), dr.Region("eu-west-1", "b")])
    resources = dr.front_door_resources(door)
    check = resources["HealthCheckUsEast1"]["Properties"]["HealthCheckConfig"]
    assert check["RequestInterval"] * check["FailureThreshold"] == 30 and check["ResourcePath"] == "/health/ready"
    assert resources["RecordEuWest1"]["Properties"]["Failover"] == "SECONDARY"


def put_route_counts(cw, service: str, method: str, at: dt.datetime, requests: int, errors: int) -> None:
    """`requests` and `errors` (5xx) of `method /orders` at `at`, as RequestMetrics writes them."""
    dims = [
        {"Name": "service", "Value": service},
        {"Name": "route", "Value": "/orders"},
        {"Name": "method", "Value": method},
    ]
    cw.put_metric_data(
        Namespace=service,
        MetricData=[
            {"MetricName": "Requests", "Dimensions": dims, "Value": requests, "Timestamp": at, "Unit": "Count"},
            {"MetricName": "ServerErrors", "Dimensions": dims, "Value": errors, "Timestamp": at, "Unit": "Count"},
        ],
    )


def test_slo_report_matches_a_hand_computation(moto_endpoint):
    from lift.deploy.slo import markdown, report
    from lift.slo import SLO

    cw = boto3.client("cloudwatch", endpoint_url=moto_endpoint)
    service = f"shop{uuid.uuid4().hex[:6]}"
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    # 10,000 requests over the last two days, 4 of them 5xx; in the last hour 1,000 requests and 2 errors
    for hours_ago, requests, errors in ((30, 5000, 1), (5, 4000, 1), (0, 1000, 2)):
        at = now - dt.timedelta(hours=hours_ago, minutes=10 if hours_ago == 0 else 0)
        put_route_counts(cw, service, "POST", at, requests, errors)
    slo = SLO(name="checkout", availability=99.9, routes=("POST /orders",))
    r = report(
        cw, slo, service=service, namespace=service, endpoints=[("POST", "/orders"), ("GET", "/orders")], now=now
    )
    budget = 0.001
    assert (r.requests, r.errors) == (10000, 4)
    assert r.sli == pytest.approx(1 - 4 / 10000)
    assert r.budget_remaining == pytest.approx(1 - (4 / 10000) / budget)  # 60% left
    assert r.burn_rate_1h == pytest.approx((2 / 1000) / budget)  # 2x: under the 14.4x page threshold
    assert not r.freeze
    assert "| checkout | 99.9% | 99.960% | 60.0% | 2.00x |" in markdown([r], "prod")


def test_burn_rate_alarms_dashboard_and_front_door_pass_cfn_lint():
    from cfnlint.api import ManualArgs, lint

    from lift.deploy.slo import alarm_resources, burn_alerts, dashboard_resource
    from lift.slo import SLO

    slo = SLO(name="checkout", availability=99.9, latency_p99_ms=300, routes=("POST /orders", "/orders/{id}"))
    endpoints = [("POST", "/orders"), ("GET", "/orders/{id}"), ("DELETE", "/orders/{id}"), ("GET", "/health")]
    assert [(a.name, a.burn_rate, a.long_seconds, a.short_seconds, a.action) for a in burn_alerts(slo)] == [
        ("fast", 14.4, 3600, 300, "page"),
        ("slow", 6.0, 21600, 1800, "ticket"),
    ]
    resources = {"Alerts": {"Type": "AWS::SNS::Topic", "Properties": {"KmsMasterKeyId": "alias/aws/sns"}}}
    resources.update(
        alarm_resources(
            slo,
            service="shop",
            namespace="shop",
            endpoints=endpoints,
            page_actions=[{"Ref": "Alerts"}],
            ticket_actions=[{"Ref": "Alerts"}],
        )
    )
    resources["SloDashboard"] = dashboard_resource(
        [slo], service="shop", stage="prod", namespace="shop", endpoints=endpoints, region="us-east-1"
    )
    door = dr.FrontDoor(
        "Z123", "api.example.com", [dr.Region("us-east-1", "a.example.com"), dr.Region("eu-west-1", "b.example.com")]
    )
    resources.update(dr.front_door_resources(door))
    fast_long = resources["SloCheckoutFastLongAlarm"]["Properties"]
    assert fast_long["Threshold"] == 0.0144  # 14.4 x 0.1%, as documented (not 0.014399999999998414)
    assert fast_long["Metrics"][-1]["Expression"] == "(e0+e1+e2)/(r0+r1+r2)"  # POST /orders and both /orders/{id}
    rule = resources["SloCheckoutFastBurnAlarm"]["Properties"]["AlarmRule"]
    assert rule == "ALARM(shop-slo-checkout-fast-long) AND ALARM(shop-slo-checkout-fast-short)"
    template = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}
    matches = lint(json.dumps(template), config=ManualArgs(regions=["us-east-1"]))
    assert [str(m) for m in matches] == []


def test_an_slo_names_at_most_four_routes_and_only_existing_ones():
    from lift.deploy.slo import alarm_resources
    from lift.slo import SLO

    endpoints = [("GET", f"/r{i}") for i in range(6)]
    with pytest.raises(ValueError, match="at most 4 routes"):
        alarm_resources(SLO(name="all", availability=99.5), service="s", namespace="s", endpoints=endpoints)
    with pytest.raises(ValueError, match="no route GET /nope"):
        alarm_resources(
            SLO(name="x", availability=99.5, routes=("GET /nope",)), service="s", namespace="s", endpoints=endpoints
        )
    with pytest.raises(ValueError, match="availability= and/or latency_p99_ms="):
        SLO(name="empty")


def test_lift_synth_puts_the_apps_slo_alarms_and_dashboard_in_the_template():
    from cfnlint.api import ManualArgs, lint

    from lift.deploy import build_deployment, config_from_dict
    from lift.deploy.cloudformation import render, to_json
    from tests.deploy.conftest import full_app

    app = full_app()
    method, route = sorted((m, e.template) for e in app.endpoints for m in e.methods if m != "HEAD")[0]
    app.slo("core", availability=99.9, latency_p99_ms=250, routes=[f"{method} {route}"])
    config = config_from_dict({"region": "eu-west-1", "alarms_email": "oncall@example.com"}, "pyproject.toml")
    template = render(build_deployment(app, config, "prod"))
    resources = template["Resources"]
    fast = resources["SloCoreFastBurnAlarm"]["Properties"]
    assert resources["SloCoreFastBurnAlarm"]["Type"] == "AWS::CloudWatch::CompositeAlarm"
    assert fast["AlarmActions"] and "fast-long" in fast["AlarmRule"] and "fast-short" in fast["AlarmRule"]
    assert resources["SloDashboard"]["Type"] == "AWS::CloudWatch::Dashboard"
    dims = {d["Name"]: d["Value"] for d in resources["SloCoreLatency0Alarm"]["Properties"]["Dimensions"]}
    assert dims == {"service": app.name, "stage": "prod", "route": route, "method": method}
    assert [str(m) for m in lint(to_json(template), config=ManualArgs(regions=["eu-west-1"]))] == []
    # named per stage (docs/releases.md gates on `orders-prod-slo-checkout-fast-burn`): the names were
    # the service's alone, so staging and prod in one account and region overwrote each other's alarms
    assert fast["AlarmName"] == "shop-prod-slo-core-fast-burn"
    assert fast["AlarmRule"] == "ALARM(shop-prod-slo-core-fast-long) AND ALARM(shop-prod-slo-core-fast-short)"
    names = {stage: _slo_alarm_names(render(build_deployment(app, config, stage))) for stage in ("prod", "staging")}
    assert len(names["prod"]) == 7 and not names["prod"] & names["staging"]


def _slo_alarm_names(template: dict) -> set[str]:
    return {
        r["Properties"]["AlarmName"] for k, r in template["Resources"].items() if k.startswith("Slo") and "Alarm" in k
    }


def test_slo_alarm_thresholds_in_the_template_are_the_documented_burn_rate_times_budget():
    from lift import App
    from lift.deploy import build_deployment, config_from_dict
    from lift.deploy.cloudformation import render

    app = App(name="shop")

    @app.get("/orders/{order_id}")
    def get_order(order_id: int) -> dict:
        return {}

    app.slo("monthly", availability=99.9)  # 30 days: fast 14.4x, slow 6x
    app.slo("four-weeks", availability=99.95, window_days=28)  # 0.02 x 672 h = 13.44x, 0.05 x 672 / 6 = 5.6x
    app.slo("tight", availability=99.999)
    config = config_from_dict({"region": "eu-west-1", "alarms_email": "oncall@example.com"}, "pyproject.toml")
    resources = render(build_deployment(app, config, "prod"))["Resources"]
    thresholds = {
        k: r["Properties"]["Threshold"]
        for k, r in resources.items()
        if k.startswith("Slo") and "Threshold" in r["Properties"]
    }
    assert thresholds == {
        "SloMonthlyFastLongAlarm": 0.0144,
        "SloMonthlyFastShortAlarm": 0.0144,
        "SloMonthlySlowLongAlarm": 0.006,
        "SloMonthlySlowShortAlarm": 0.006,
        "SloFourWeeksFastLongAlarm": 0.00672,
        "SloFourWeeksFastShortAlarm": 0.00672,
        "SloFourWeeksSlowLongAlarm": 0.0028,
        "SloFourWeeksSlowShortAlarm": 0.0028,
        "SloTightFastLongAlarm": 0.000144,
        "SloTightFastShortAlarm": 0.000144,
        "SloTightSlowLongAlarm": 0.00006,
        "SloTightSlowShortAlarm": 0.00006,
    }
    with pytest.raises(ValueError, match="letters, digits"):
        app.slo("latência", availability=99.9)  # its alarms' logical ids would not be ASCII


def test_linear_steps_are_multiples_of_the_percent_without_an_early_full_step():
    tenth = [s.percent for s in plan_for("linear", percent=0.1).steps]
    assert len(tenth) == 1000 and tenth[-2:] == [99.9, 100] and tenth.count(100) == 1
    assert tenth[332] == 33.3 and tenth == sorted(set(tenth))  # ascending, no step twice
    assert [s.percent for s in plan_for("linear", percent=33.3).steps] == [33.3, 66.6, 99.9, 100]


def test_dr_setup_again_points_a_kept_health_check_at_a_moved_host(moto_endpoint):
    """`lift dr setup` after a change of `hosts`/`health_path` kept each region's health check as it
    was: the record served the new host while Route 53 judged the region by the old one."""
    route53 = boto3.client("route53", endpoint_url=moto_endpoint)
    zone = route53.create_hosted_zone(Name=f"{uuid.uuid4().hex[:6]}.example.com", CallerReference=uuid.uuid4().hex)
    record = f"api.{zone['HostedZone']['Name']}".rstrip(".")
    first = dr.ensure_front_door(
        route53,
        dr.FrontDoor(
            zone["HostedZone"]["Id"],
            record,
            [dr.Region("us-east-1", "use1.example.com"), dr.Region("eu-west-1", "euw1.example.com")],
        ),
    )
    door = dr.FrontDoor(
        zone["HostedZone"]["Id"],
        record,
        [dr.Region("us-east-1", "use1.example.com"), dr.Region("eu-west-1", "euw1-new.example.com", "/ready")],
    )
    again = dr.ensure_front_door(route53, door)
    assert again.health_checks == first.health_checks  # kept, not one more
    watched = {
        region: route53.get_health_check(HealthCheckId=check)["HealthCheck"]["HealthCheckConfig"]
        for region, check in again.health_checks.items()
    }
    assert (watched["eu-west-1"]["FullyQualifiedDomainName"], watched["eu-west-1"]["ResourcePath"]) == (
        "euw1-new.example.com",
        "/ready",
    )
    assert watched["us-east-1"]["FullyQualifiedDomainName"] == "use1.example.com"
    [served] = [r for r in dr.status(route53, door)["regions"] if r["region"] == "eu-west-1"]
    assert served["host"] == "euw1-new.example.com"


def test_a_gate_alarm_that_does_not_exist_stops_the_release_before_any_traffic(service):
    """`alarms = ["orders-prod-erors"]` (a typo, or a stack not deployed in this region yet): the
    release went to 100% watched by nothing, since CloudWatch simply leaves unknown names out."""
    plan = plan_for("canary", percent=10, interval=0, alarms=[service.alarm, "no-such-alarm"], poll_seconds=1)
    result = Release(service.lam, service.cw, service.name, "live", plan).run()
    assert result.verdict == "rolled_back", result.reason
    assert "no-such-alarm does not exist in us-east-1" in result.reason and service.alarm not in result.reason
    assert not [e for e in result.events if e["kind"] == "shift"]
    alias = service.alias()
    assert alias["FunctionVersion"] == service.old and not alias.get("RoutingConfig", {}).get(
        "AdditionalVersionWeights"
    )


def test_the_gates_ask_cloudwatch_for_composite_alarms_too(service):
    """The SLO burn-rate alarms are composite alarms, and DescribeAlarms without AlarmTypes answers
    metric alarms only (moto has no composite alarms to show it): every request the gates send
    names both types."""
    sent = []
    service.cw.meta.events.register(
        "provide-client-params.cloudwatch.DescribeAlarms", lambda params, **_: sent.append(dict(params))
    )
    assert service.release().run().ok
    assert sent and all(p["AlarmTypes"] == ["CompositeAlarm", "MetricAlarm"] for p in sent)
    assert all(p["AlarmNames"] == [service.alarm] for p in sent)


def test_a_front_door_record_in_capitals_finds_the_records_route53_keeps_in_lower_case(moto_endpoint):
    """Route 53 answers record names in lower case (moto keeps them as written, so the records are
    made lower case here): `record = "API.example.com"` found none of them, so status showed no
    roles and failover refused, saying the front door was never set up."""
    route53 = boto3.client("route53", endpoint_url=moto_endpoint)
    zone = route53.create_hosted_zone(Name=f"{uuid.uuid4().hex[:6]}.example.com", CallerReference=uuid.uuid4().hex)
    record = f"api.{zone['HostedZone']['Name']}".rstrip(".")
    regions = [dr.Region("us-east-1", "use1.example.com"), dr.Region("eu-west-1", "euw1.example.com")]
    dr.ensure_front_door(route53, dr.FrontDoor(zone["HostedZone"]["Id"], record, regions))  # as AWS stores it
    door = dr.FrontDoor(zone["HostedZone"]["Id"], record.upper(), regions)  # as the config spells it
    assert [r["role"] for r in dr.status(route53, door)["regions"]] == ["PRIMARY", "SECONDARY"]
    entry = dr.failover(route53, door, "eu-west-1", verify=lambda region: True)
    assert (entry["from"], entry["to"]) == ("us-east-1", "eu-west-1")
    assert dr.status(route53, door)["serving"] == "eu-west-1"


def test_an_slo_of_90_percent_or_less_gets_burn_alarms_that_can_fire(moto_endpoint):
    """A fast burn of 14.4x a 10% budget is an error ratio of 144%: no alarm above it could ever fire.
    Such a rate is capped at every request failing (an error ratio >= 1), in every format; a rate
    below it keeps its documented threshold."""
    from lift import App
    from lift.deploy import build_deployment, config_from_dict
    from lift.deploy.cloudformation import render
    from lift.deploy.slo import burn_alerts, report
    from lift.deploy.terraform import render as render_terraform
    from lift.slo import SLO

    app = App(name="shop")

    @app.get("/orders")
    def orders() -> dict:
        return {}

    app.slo("loose", availability=90)  # fast 14.4 x 0.1 = 1.44: capped; slow 6 x 0.1 = 0.6
    app.slo("looser", availability=80)  # fast and slow (6 x 0.2 = 1.2) capped
    app.slo("fine", availability=95)  # fast 14.4 x 0.05 = 0.72: as documented
    config = config_from_dict({"region": "eu-west-1", "alarms_email": "oncall@example.com"}, "pyproject.toml")
    deployment = build_deployment(app, config, "prod")
    resources = render(deployment)["Resources"]
    alarms = {
        k: (r["Properties"]["Threshold"], r["Properties"]["ComparisonOperator"])
        for k, r in resources.items()
        if k.startswith("Slo") and k.endswith("LongAlarm")
    }
    assert alarms == {
        "SloLooseFastLongAlarm": (1.0, "GreaterThanOrEqualToThreshold"),
        "SloLooseSlowLongAlarm": (0.6, "GreaterThanThreshold"),
        "SloLooserFastLongAlarm": (1.0, "GreaterThanOrEqualToThreshold"),
        "SloLooserSlowLongAlarm": (1.0, "GreaterThanOrEqualToThreshold"),
        "SloFineFastLongAlarm": (0.72, "GreaterThanThreshold"),
        "SloFineSlowLongAlarm": (0.3, "GreaterThanThreshold"),
    }
    tf = render_terraform(deployment)["main.tf.json"]["resource"]["aws_cloudwatch_metric_alarm"]
    capped = [a for a in tf.values() if a["alarm_name"].endswith("-slo-loose-fast-long")]
    assert [(a["threshold"], a["comparison_operator"]) for a in capped] == [(1.0, "GreaterThanOrEqualToThreshold")]
    assert [a.burn_rate for a in burn_alerts(SLO(name="loose", availability=90))] == [10.0, 6.0]
    # `lift slo report`: every request failing in the last hour of a 90% SLO pages (and freezes releases)
    cw = boto3.client("cloudwatch", endpoint_url=moto_endpoint)
    service = f"loose{uuid.uuid4().hex[:6]}"
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    put_route_counts(cw, service, "GET", now - dt.timedelta(minutes=10), 50, 50)
    r = report(
        cw,
        SLO(name="loose", availability=90),
        service=service,
        namespace=service,
        endpoints=[("GET", "/orders")],
        now=now,
    )
    assert r.freeze and any("page at 10.0x" in reason for reason in r.reasons)


def test_dr_setup_gives_each_health_check_its_own_caller_reference_and_remakes_a_deleted_one(moto_endpoint):
    """CallerReference was `lift-<record>-<region>` cut to 64 characters: one reference for every
    region of a long record name (Route 53 refuses the second region's check, HealthCheckAlreadyExists)
    and for a check made again after one was deleted (refused too). And a check deleted by hand made
    every later `lift dr setup` fail on NoSuchHealthCheck."""
    route53 = boto3.client("route53", endpoint_url=moto_endpoint)
    zone = route53.create_hosted_zone(Name=f"{uuid.uuid4().hex[:6]}.example.com", CallerReference=uuid.uuid4().hex)
    record = f"orders-api.payments-service.{'x' * 20}.{zone['HostedZone']['Name']}".rstrip(".")
    regions = [dr.Region("us-east-1", "use1.example.com"), dr.Region("eu-west-1", "euw1.example.com")]
    door = dr.ensure_front_door(route53, dr.FrontDoor(zone["HostedZone"]["Id"], record, regions))

    def reference(check: str) -> str:
        return route53.get_health_check(HealthCheckId=check)["HealthCheck"]["CallerReference"]

    first = {region: reference(check) for region, check in door.health_checks.items()}
    assert len(set(first.values())) == 2 and all(len(r) <= 64 for r in first.values())

    route53.delete_health_check(HealthCheckId=door.health_checks["eu-west-1"])
    again = dr.ensure_front_door(route53, dr.FrontDoor(zone["HostedZone"]["Id"], record, regions))
    assert again.health_checks["us-east-1"] == door.health_checks["us-east-1"]
    remade = again.health_checks["eu-west-1"]
    assert remade != door.health_checks["eu-west-1"] and reference(remade) not in first.values()
    records = route53.list_resource_record_sets(HostedZoneId=zone["HostedZone"]["Id"])["ResourceRecordSets"]
    assert {r["SetIdentifier"]: r["HealthCheckId"] for r in records if r.get("SetIdentifier")} == again.health_checks


def test_a_release_while_another_shifts_the_alias_leaves_that_shift_alone(service):
    """Two `lift release` of one stage at once: the second read the alias mid-canary (version 1 with
    10% on the first's new version), published, shifted and promoted its own, and the first's gates
    then watched (and rolled back to) what the second had put there."""
    theirs = service.lam.publish_version(FunctionName=service.name)["Version"]
    split = {"AdditionalVersionWeights": {theirs: 0.1}}
    service.lam.update_alias(FunctionName=service.name, Name="live", FunctionVersion=service.old, RoutingConfig=split)
    versions = len(service.lam.list_versions_by_function(FunctionName=service.name)["Versions"])

    result = service.release().run()
    assert result.verdict == "refused" and not result.ok
    assert f"is mid-shift (10% to version {theirs}, the rest on version {service.old})" in result.reason
    alias = service.alias()
    assert (alias["FunctionVersion"], alias["RoutingConfig"]) == (service.old, split)
    assert len(service.lam.list_versions_by_function(FunctionName=service.name)["Versions"]) == versions
