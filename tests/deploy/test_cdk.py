"""CDK from the deployment model: `aws-cdk-lib` (jsii on the machine's Node.js) synthesizes the
`LiftService` construct to a CloudFormation template, which passes cfn-lint and describes the same
infrastructure as the CloudFormation renderer (the inventory of test_terraform.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from lift.deploy.cloudformation import render as render_cfn
from tests.deploy.test_cloudformation import REGION, VARIANTS
from tests.deploy.test_terraform import _cfn_inventory, deployment_for
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
    assembly = app.synth()
    return {
        variant: (deployment_for(variant), assembly.get_stack_by_name(f"shop-{variant}").template, services[variant])
        for variant in VARIANTS
    }


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_cdk_and_cloudformation_describe_the_same_infrastructure(synthesized, variant):
    deployment, template, _ = synthesized[variant]
    cfn = _cfn_inventory(render_cfn(deployment))
    assert _cfn_inventory(template) == cfn
    assert cfn["functions"] and cfn["mappings"] and cfn["iam"]  # it compared something
    ours = render_cfn(deployment)["Resources"]
    assert set(template["Resources"]) == set(ours)  # the renderer's logical ids, one for one
    assert sorted(template["Outputs"]) == sorted(render_cfn(deployment)["Outputs"])


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_the_synthesized_template_passes_cfn_lint(synthesized, variant):
    from cfnlint.api import ManualArgs, lint

    _, template, _ = synthesized[variant]
    matches = lint(json.dumps(template), config=ManualArgs(regions=[REGION]))
    assert [str(m) for m in matches] == []


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
