"""Deployment configuration: [tool.lift] in pyproject.toml / lift.toml, stages, and clear errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from lift.deploy.config import ConfigError, config_from_dict, load_config


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


def test_a_stage_overrides_the_base_and_merges_tables(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        """
        [project]
        name = "shop"

        [tool.lift]
        app = "shop.app:app"
        memory = 512
        environment = { LOG_FORMAT = "json", FEATURE = "off" }
        tags = { team = "payments" }

        [tool.lift.queues.orders]
        batch_size = 5

        [tool.lift.stages.prod]
        memory = 2048
        environment = { FEATURE = "on" }
        queues = { orders = { max_receive_count = 3 } }
        """,
    )
    config = load_config(tmp_path)
    assert config.app == "shop.app:app"
    prod, dev = config.stage("prod"), config.stage("dev")
    assert (prod.memory, dev.memory) == (2048, 512)
    assert prod.environment == {"LOG_FORMAT": "json", "FEATURE": "on"}
    assert dev.environment == {"LOG_FORMAT": "json", "FEATURE": "off"}
    assert (prod.queues["orders"].batch_size, prod.queues["orders"].max_receive_count) == (5, 3)
    assert dev.queues["orders"].max_receive_count == 5
    assert prod.tags == {"team": "payments"}
    assert config.stage_names == ["prod"]


def test_lift_toml_holds_the_same_table_at_its_top_level(tmp_path: Path) -> None:
    write(
        tmp_path / "lift.toml",
        """
        app = "main:app"
        timeout = 10
        [stages.staging]
        timeout = 20
        """,
    )
    config = load_config(tmp_path)
    assert config.file.endswith("lift.toml")
    assert config.stage("staging").timeout == 20
    assert config.stage().timeout == 10


def test_no_config_file_gives_the_defaults(tmp_path: Path) -> None:
    settings = load_config(tmp_path).stage("dev")
    assert (settings.memory, settings.architecture, settings.http, settings.runtime) == (
        512,
        "arm64",
        "http",
        "python3.12",
    )


@pytest.mark.parametrize(
    "table, expected",
    [
        ({"memry": 1024}, "pyproject.toml: [tool.lift]: unknown key 'memry'"),
        ({"memory": "big"}, "pyproject.toml: [tool.lift]: key 'memory': expected `int`, got `str`"),
        ({"architecture": "sparc"}, "pyproject.toml: [tool.lift]: key 'architecture': invalid enum value 'sparc'"),
        ({"stages": {"prod": {"timout": 3}}}, "pyproject.toml: [tool.lift.stages.prod]: unknown key 'timout'"),
        (
            {"stages": {"prod": {"queues": {"orders": {"batchsize": 3}}}}},
            "pyproject.toml: [tool.lift.stages.prod.queues.orders]: unknown key 'batchsize'",
        ),
        (
            {"queues": {"orders.fifo": {"batch_size": "ten"}}},
            "pyproject.toml: [tool.lift.queues.\"orders.fifo\"]: key 'batch_size': expected `int`, got `str`",
        ),
        (
            {"iam": [{"actions": ["s3:GetObject"]}]},
            "pyproject.toml: [tool.lift]: key 'iam[0]': object missing required field `resources`",
        ),
        ({"stages": {"Prod": {}}}, "invalid stage name 'Prod'"),
        ({"stages": {"prod": {"app": "x:app"}}}, "[tool.lift.stages.prod]: key 'app' is only allowed in [tool.lift]"),
        ({"name": 3}, "key 'name' must be a string"),
        ({"test": {"service": ["redis"]}}, "pyproject.toml: [tool.lift.test]: unknown key 'service'"),
    ],
)
def test_bad_config_names_the_file_the_table_and_the_key(table: dict, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        config_from_dict(table, "pyproject.toml")
    assert expected in str(info.value)


_DOOR = {"zone_id": "Z1", "record": "api.example.com", "hosts": {"us-east-1": "a", "eu-west-1": "b"}}
_THREE_HOSTS = {"us-east-1": "a", "eu-west-1": "b", "ap-south-1": "c"}


@pytest.mark.parametrize(
    "stage, expected",
    [
        ({"memory": 64}, "key 'memory': 64 MB is outside Lambda's 128-10240 MB"),
        ({"timeout": 1000}, "key 'timeout': 1000 s is outside Lambda's 1-900 s"),
        ({"log_retention_days": 10}, "key 'log_retention_days': 10 is not a CloudWatch Logs retention period"),
        ({"runtime": "python3.9"}, "key 'runtime': 'python3.9' is not a supported runtime"),
        ({"secrets": {"DB_PASSWORD": "hunter2"}}, "key 'secrets.DB_PASSWORD': 'hunter2' is not an SSM parameter"),
        ({"snapstart": True, "runtime": "python3.11"}, "SnapStart for Python needs runtime python3.12"),
        ({"queues": {"q": {"batch_size": 50}}}, "a batch_size above 10 needs a batching_window"),
        ({"http": "alb"}, 'http = "alb" needs [tool.lift.alb]'),
        ({"domain": "api.example.com"}, "a custom domain needs certificate_arn"),
        ({"environment": {"weird-key": "x"}}, "key 'environment.weird-key': Lambda takes letters, digits and '_'"),
        ({"environment": {"X": "1"}}, "key 'environment.X': Lambda takes"),
        ({"environment": {"AWS_REGION": "eu-west-1"}}, "the Lambda runtime sets this variable"),
        ({"secrets": {"db-password": "arn:aws:ssm:eu-west-1:123456789012:parameter/db"}}, "key 'secrets.db-password'"),
        ({"environment": {f"V{i}": "x" * 100 for i in range(40)}}, "over Lambda's 4 KB"),
        ({"domain": "api.example.com", "certificate_arn": "api.example.com"}, "is not an ACM certificate ARN"),
        ({"region": "eu_west_1"}, "key 'region': 'eu_west_1' is not an AWS region name"),
        ({"regions": ["us-east-1", "EU-WEST-1"]}, "key 'regions': 'EU-WEST-1' is not an AWS region name"),
        ({"regions": ["us-east-1", "us-east-1"]}, "names a region twice"),
        # Route 53 takes one PRIMARY and one SECONDARY failover record of a name: `lift dr setup` got
        # an InvalidChangeBatch (or a traceback for one host) after making the health checks
        ({"dr": {**_DOOR, "hosts": {"us-east-1": "a.example.com"}}}, "needs a host in at least two regions, not 1"),
        ({"dr": {**_DOOR, "hosts": _THREE_HOSTS}}, "active-passive failover takes one primary and one secondary"),
        ({"dr": {**_DOOR, "hosts": {"us-east-1": "a", "eu-west": "b"}}}, "'eu-west' is not an AWS region name"),
        ({"dr": {**_DOOR, "health_path": "health"}}, "key 'dr.health_path': 'health' must be a path"),
        (
            {"release": {"engine": "codedeploy", "alarms": [f"a{i}" for i in range(11)]}},
            "key 'release.alarms': 11 alarms: a CodeDeploy deployment group takes at most 10",
        ),
        ({"release": {"alarms": ["a", "b", "a"]}}, "key 'release.alarms': names an alarm twice"),
        ({"release": {"alarms": [f"a{i}" for i in range(101)]}}, "CloudWatch describes at most 100 at once"),
    ],
)
def test_values_outside_aws_limits_are_refused_naming_the_stage(stage: dict, expected: str) -> None:
    config = config_from_dict({"stages": {"prod": stage}}, "pyproject.toml")
    config.stage("dev")  # the base alone is fine
    with pytest.raises(ConfigError) as info:
        config.stage("prod")
    assert "pyproject.toml: [tool.lift.stages.prod]" in str(info.value)
    assert expected in str(info.value)


def test_a_front_door_of_three_regions_is_active_active() -> None:
    config = config_from_dict({"stages": {"prod": {"dr": {**_DOOR, "hosts": _THREE_HOSTS, "mode": "active-active"}}}})
    assert sorted(config.stage("prod").dr.hosts) == ["ap-south-1", "eu-west-1", "us-east-1"]


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.lift\nmemory = 1\n")
    with pytest.raises(ConfigError, match=r"pyproject.toml: invalid TOML"):
        load_config(tmp_path)
