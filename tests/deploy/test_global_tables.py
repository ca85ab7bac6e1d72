"""DR stages: the stores' DynamoDB tables become global tables with a replica in every region."""

from __future__ import annotations

import pytest

from lift.deploy import build_deployment, config_from_dict
from lift.deploy.cloudformation import render, to_yaml
from lift.deploy.terraform import render as render_tf
from tests.deploy.conftest import full_app

DR = {
    "zone_id": "Z0123456789ABC",
    "record": "api.example.com",
    "hosts": {"us-east-1": "use1.api.example.com", "eu-west-1": "euw1.api.example.com"},
}


def deployment(region: str = "us-east-1", **dr):
    config = config_from_dict({"regions": ["us-east-1", "eu-west-1"], "dr": {**DR, **dr}})
    return build_deployment(full_app(), config, "prod", region=region)


def test_the_first_regions_template_creates_global_tables_replicated_to_every_region() -> None:
    t = render(deployment())
    tables = {k: r for k, r in t["Resources"].items() if r["Type"].startswith("AWS::DynamoDB::")}
    store_tables = {
        k: r for k, r in tables.items() if r["Properties"]["TableName"] in ("shop-state-prod", "shop-limits-prod")
    }
    assert len(store_tables) == 2
    for resource in store_tables.values():
        props = resource["Properties"]
        assert resource["Type"] == "AWS::DynamoDB::GlobalTable" and resource["DeletionPolicy"] == "Retain"
        assert props["Replicas"] == [
            {"Region": r, "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}}
            for r in ("us-east-1", "eu-west-1")
        ]
        assert props["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
        assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
        assert props["BillingMode"] == "PAY_PER_REQUEST" and props["SSESpecification"] == {"SSEEnabled": True}


def test_the_other_regions_use_their_replica_and_say_so() -> None:
    d = deployment(region="eu-west-1")
    assert {t.name for t in d.tables} & {"shop-state-prod", "shop-limits-prod"} == set()
    assert any("shop-state: a replica of the global table the us-east-1 stack creates" in w for w in d.warnings)
    granted = {str(r) for role in d.roles for s in role.statements for r in s.resources}
    assert "arn:{partition}:dynamodb:{region}:{account}:table/shop-state-prod" in granted  # its own region's replica


@pytest.mark.parametrize("settings", [{"global_tables": False}, None])
def test_plain_tables_without_dr_or_when_turned_off(settings) -> None:
    if settings is None:
        d = build_deployment(full_app(), config_from_dict({"regions": ["us-east-1", "eu-west-1"]}), "prod")
    else:
        d = deployment(**settings)
    kinds = {r["Type"] for r in render(d)["Resources"].values() if r["Type"].startswith("AWS::DynamoDB::")}
    assert kinds == {"AWS::DynamoDB::Table"}


def test_cfn_lint_accepts_the_global_tables() -> None:
    from cfnlint.api import ManualArgs, lint

    matches = lint(to_yaml(render(deployment())), config=ManualArgs(regions=["us-east-1"]))
    assert [str(m) for m in matches] == []


def test_terraform_carries_a_replica_block_per_other_region() -> None:
    tables = render_tf(deployment())["main.tf.json"]["resource"]["aws_dynamodb_table"]
    state = next(t for t in tables.values() if t["name"] == "shop-state-prod")
    assert state["replica"] == [{"region_name": "eu-west-1", "point_in_time_recovery": True}]
    assert (state["stream_enabled"], state["stream_view_type"]) == (True, "NEW_AND_OLD_IMAGES")


def test_pulumi_carries_the_replicas_too(event_loop_for_pulumi) -> None:
    from tests.deploy.test_pulumi import of, run

    recorder, _ = run(deployment())
    state = next(t for t in of(recorder, "aws:dynamodb/table:Table") if t["name"] == "shop-state-prod")
    assert state["replicas"] == [{"regionName": "eu-west-1", "pointInTimeRecovery": True}]
    assert (state["streamEnabled"], state["streamViewType"]) == (True, "NEW_AND_OLD_IMAGES")
