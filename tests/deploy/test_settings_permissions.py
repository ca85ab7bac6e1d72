"""The deploy model grants a function read access to exactly the names its lift.config settings declare."""

from __future__ import annotations

import msgspec

from lift import App
from lift.config import AppConfig, Env, Parameter, Secret, SecretStr, Settings
from lift.deploy import build_deployment, config_from_dict
from lift.deploy.model import Expr


class ShopSettings(msgspec.Struct):
    table: str = Env("TABLE")
    api_url: str = Parameter("/shop/api/url")
    signing_key: SecretStr = Parameter("/shop/signing-key")
    db_password: SecretStr = Secret("shop/db#password", kms_key="1234abcd-12ab-34cd-56ef-1234567890ab")
    flags: dict = AppConfig("shop", "prod", "flags")


def test_declared_settings_become_exact_iam_statements() -> None:
    app = App("shop")
    app.get("/")(lambda ctx: {})
    Settings(ShopSettings, app=app)
    config = config_from_dict({"app": "shop.app:app", "region": "eu-west-1"}, "pyproject.toml")
    role = build_deployment(app, config, "prod").roles[0]
    granted = {
        s.sid: (
            s.actions,
            [r.format(region="eu-west-1", account="123456789012") if isinstance(r, Expr) else r for r in s.resources],
        )
        for s in role.statements
        if s.sid.startswith("SettingsShopSettings")
    }
    assert granted == {
        "SettingsShopSettingsSsm": (
            ("ssm:GetParameter", "ssm:GetParameters"),
            [
                "arn:aws:ssm:eu-west-1:123456789012:parameter/shop/api/url",
                "arn:aws:ssm:eu-west-1:123456789012:parameter/shop/signing-key",
            ],
        ),
        "SettingsShopSettingsSecretsmanager": (
            ("secretsmanager:GetSecretValue",),
            ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/db-??????"],
        ),
        "SettingsShopSettingsAppconfig": (
            ("appconfig:StartConfigurationSession", "appconfig:GetLatestConfiguration"),
            ["arn:aws:appconfig:eu-west-1:123456789012:application/shop/environment/prod/configuration/flags"],
        ),
        "SettingsShopSettingsKms": (  # the secret's customer managed key, and no other
            ("kms:Decrypt",),
            ["arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"],
        ),
    }
    assert all("*" not in s.resources for s in role.statements if s.sid.startswith("Settings"))


def test_an_app_without_settings_gets_no_settings_statement() -> None:
    app = App("bare")
    app.get("/")(lambda ctx: {})
    config = config_from_dict({"app": "bare.app:app", "region": "eu-west-1"}, "pyproject.toml")
    assert not [s for s in build_deployment(app, config, "prod").roles[0].statements if s.sid.startswith("Settings")]


def test_the_rendered_template_with_settings_statements_passes_cfn_lint() -> None:
    from cfnlint.api import ManualArgs, lint

    from lift.deploy.cloudformation import render, to_yaml

    app = App("shop")
    app.get("/")(lambda ctx: {})
    Settings(ShopSettings, app=app)
    config = config_from_dict({"app": "shop.app:app", "region": "eu-west-1"}, "pyproject.toml")
    text = to_yaml(render(build_deployment(app, config, "prod"), "cloudformation"))
    assert "secret:shop/db-??????" in text and "key/1234abcd-12ab-34cd-56ef-1234567890ab" in text
    assert [str(m) for m in lint(text, config=ManualArgs(regions=["eu-west-1"]))] == []
