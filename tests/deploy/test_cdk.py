"""CDK from the deployment model: `aws-cdk-lib` (jsii on the machine's Node.js) synthesizes the
`LiftService` construct to a CloudFormation template, which passes cfn-lint and describes the same
infrastructure as the CloudFormation renderer (the inventory of test_terraform.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from lift.deploy.cloudformation import render as render_cfn
from tests.deploy.checks import cfn_lint, checkov_failed, justified_checks
from tests.deploy.test_cloudformation import REGION, VARIANTS
from tests.deploy.test_terraform import EXAMPLES, _cfn_inventory, deployment_for, example_deployment
from tests.services import ROOT

ACCOUNT = "123456789012"


def _zip(path: Path, name: str) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(name, "app = None\n")
    return path


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory) -> dict:
    """One CDK app with a stack per variant (one jsii start for all), synthesized to templates."""
    import aws_cdk as cdk

    from lift.deploy.cdk import LiftService

    folder = tmp_path_factory.mktemp("cdk")
    code, layer = _zip(folder / "shop.zip", "shop.py"), _zip(folder / "deps.zip", "python/dep.py")
    app = cdk.App(outdir=str(folder / "cdk.out"), analytics_reporting=False)
    services = {}
    for variant in VARIANTS:
        deployment = deployment_for(variant)
        stack = cdk.Stack(app, f"shop-{variant}", env=cdk.Environment(account=ACCOUNT, region=REGION))
        services[variant] = LiftService(
            stack,
            "Shop",
            deployment,
            artifact_path=str(code),
            layer_artifact_path=str(layer) if deployment.layers else None,
        )
    for example in EXAMPLES:  # and one per example app
        stack = cdk.Stack(
            app, f"example-{example}".replace("_", "-"), env=cdk.Environment(account=ACCOUNT, region=REGION)
        )
        services[example] = LiftService(stack, "Service", example_deployment(example), artifact_path=str(code))
    assembly = app.synth()
    found = {
        variant: (deployment_for(variant), assembly.get_stack_by_name(f"shop-{variant}").template, services[variant])
        for variant in VARIANTS
    }
    for example in EXAMPLES:
        template = assembly.get_stack_by_name(f"example-{example}".replace("_", "-")).template
        found[example] = (example_deployment(example), template, services[example])
    return found


@pytest.mark.parametrize("name", [*VARIANTS, *EXAMPLES])
def test_cdk_and_cloudformation_describe_the_same_infrastructure(synthesized, name):
    """Every test variant and every example app."""
    deployment, template, _ = synthesized[name]
    ours = render_cfn(deployment)
    cfn = _cfn_inventory(ours)
    assert _cfn_inventory(template) == cfn
    assert cfn["functions"] and cfn["iam"] and (cfn["mappings"] or cfn["routes"])  # it compared something
    assert set(template["Resources"]) == set(ours["Resources"])  # the renderer's logical ids, one for one
    assert sorted(template["Outputs"]) == sorted(ours["Outputs"])


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_the_synthesized_template_passes_cfn_lint(synthesized, variant):
    _, template, _ = synthesized[variant]
    assert cfn_lint(json.dumps(template), REGION) == []


def test_the_code_comes_from_cdk_assets(synthesized):
    _, template, _ = synthesized["url"]
    assert "CodeS3Bucket" not in template.get("Parameters", {})
    code = template["Resources"]["Function"]["Properties"]["Code"]
    assert "cdk-" in json.dumps(code["S3Bucket"]) and code["S3Key"].endswith(".zip")
    [layer] = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::LayerVersion"]
    assert (
        layer["Properties"]["Content"]["S3Key"].endswith(".zip")
        and layer["Properties"]["Content"]["S3Key"] != code["S3Key"]
    )
    _, template, _ = synthesized["rest-snapstart"]
    [version] = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Version"]
    assert version["Properties"]["Description"] == f"code {code['S3Key']}"  # a new version when the code changes
    # a resource can be reached to change it (an L1 object)
    _, _, service = synthesized["http"]
    assert service.resource("Function").cfn_resource_type == "AWS::Lambda::Function"


def test_a_layer_stage_without_its_zip_is_a_clear_error(tmp_path):
    import aws_cdk as cdk

    from lift.deploy.cdk import LiftService

    stack = cdk.Stack(cdk.App(outdir=str(tmp_path / "out")), "s")
    with pytest.raises(ValueError, match="layer_artifact_path"):
        LiftService(stack, "Shop", deployment_for("url"), artifact_path=str(_zip(tmp_path / "a.zip", "a.py")))


def test_import_lift_does_not_import_the_cdk():
    code = "import sys, lift, lift.deploy; print('aws_cdk' in sys.modules, 'jsii' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_lift_synth_writes_a_cdk_app_that_synthesizes_a_stack_per_stage(tmp_path, monkeypatch):
    """`lift synth --format cdk`: cdk.json and app.py; the app synthesizes (aws-cdk-lib, as `cdk synth`
    runs it) the chosen stage's stack, which is the CloudFormation renderer's template and passes
    cfn-lint; without the stage's package it says which command makes it."""
    import runpy

    from lift.deploy import build_deployment, load_config
    from tests.deploy.test_cli_synth import CONFIG, lift, project

    root = project(tmp_path, CONFIG)
    result = lift("synth", "prod", "--format", "cdk", cwd=root)
    assert result.returncode == 0, result.stderr
    out = root / ".lift" / "cdk"
    assert sorted(p.name for p in out.iterdir()) == ["app.py", "cdk.json"]
    assert json.loads((out / "cdk.json").read_text()) == {"app": "python3 app.py"}
    monkeypatch.chdir(out)
    try:  # every stage by default: the first one's missing package stops it with the command to run
        namespace = runpy.run_path(str(out / "app.py"))
        with pytest.raises(SystemExit, match=r"dev/package.zip does not exist: run `lift package dev` first"):
            namespace["main"]()
        from notes import app as lift_app
    finally:
        sys.modules.pop("notes", None)
    (root / ".lift" / "prod").mkdir(parents=True)
    _zip(root / ".lift" / "prod" / "package.zip", "notes.py")
    # `cdk synth -c stage=prod` runs `python3 app.py` in the directory of cdk.json with these variables
    env = {**os.environ, "CDK_OUTDIR": str(tmp_path / "cdk.out"), "CDK_CONTEXT_JSON": json.dumps({"stage": "prod"})}
    proc = subprocess.run([sys.executable, "app.py"], cwd=out, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((tmp_path / "cdk.out" / "manifest.json").read_text())
    stacks = {k: v for k, v in manifest["artifacts"].items() if v["type"] == "aws:cloudformation:stack"}
    assert list(stacks) == ["notes-prod"] and stacks["notes-prod"]["environment"].endswith("/eu-west-1")
    template = json.loads((tmp_path / "cdk.out" / "notes-prod.template.json").read_text())
    ours = render_cfn(build_deployment(lift_app, load_config(root), "prod", handler="notes.app"))
    assert _cfn_inventory(template) == _cfn_inventory(ours)
    assert set(template["Resources"]) - set(ours["Resources"]) <= {"CDKMetadata"}
    assert template["Resources"]["Function"]["Properties"]["MemorySize"] == 1024
    assert cfn_lint(json.dumps(template), REGION) == []
    # checkov's CloudFormation checks: nothing beyond the findings justified for lift synth's templates
    path = tmp_path / "notes-prod.template.json"
    path.write_text(json.dumps(template))
    assert checkov_failed(path, "cloudformation", min_passed=10) - justified_checks() == set()
