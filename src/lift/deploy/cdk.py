"""CDK from the deployment model: a `LiftService` construct (Python, `aws-cdk-lib`) a CDK app adds
to its stack.

    from aws_cdk import App, Stack
    from lift.deploy import build_deployment, load_config
    from lift.deploy.cdk import LiftService
    from orders import app as lift_app

    cdk_app = App()
    stage = cdk_app.node.try_get_context("stage") or "dev"
    stack = Stack(cdk_app, f"orders-{stage}")
    LiftService(stack, "Orders", build_deployment(lift_app, load_config("."), stage),
                artifact_path=f"dist/orders-{stage}.zip")
    cdk_app.synth()

The construct includes the CloudFormation renderer's template of the same model with
`aws_cdk.cloudformation_include.CfnInclude` (logical ids kept, `Ref`/`GetAtt` preserved) and
feeds its code parameters (`CodeS3Bucket`, `CodeS3Key`, `LayerS3Key`) from CDK file assets of
the zips, so CDK deploys exactly the resources `lift synth` describes, one for one: written this
way rather than as one L1 construct per resource so that a third copy of every resource's
properties cannot drift from the CloudFormation one. `resource(logical_id)` returns an included
resource (an L1 `Cfn*` object) to change or reference it; `outputs` the template's outputs. Needs `lift-lambda[cdk]` (and Node.js).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from lift.deploy.model import Deployment

try:
    from aws_cdk import CfnOutput, aws_s3_assets, cloudformation_include
    from constructs import Construct
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError('lift.deploy.cdk needs aws-cdk-lib: pip install "lift-lambda[cdk]"') from exc

__all__ = ["LiftService"]


class LiftService(Construct):
    """Every resource of one stage of a Lift service (`deployment`) in the enclosing stack.

    `artifact_path` is the function's zip (`lift package`), `layer_artifact_path` the dependencies
    layer's zip when the stage has `dependencies_layer = true`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        deployment: Deployment,
        *,
        artifact_path: str,
        layer_artifact_path: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        from lift.deploy.cloudformation import render

        template = render(deployment)
        code = aws_s3_assets.Asset(self, "Code", path=artifact_path)
        parameters: dict[str, Any] = {"CodeS3Bucket": code.s3_bucket_name, "CodeS3Key": code.s3_object_key}
        if "LayerS3Key" in template.get("Parameters", {}):
            if not layer_artifact_path:
                raise ValueError(
                    "this stage puts its dependencies in a layer (dependencies_layer = true): "
                    "pass layer_artifact_path= (the layer zip written by lift package)"
                )
            layer = aws_s3_assets.Asset(self, "Layer", path=layer_artifact_path)
            # both assets live in the environment's one asset bucket (CodeS3Bucket)
            parameters["LayerS3Key"] = layer.s3_object_key
        with tempfile.TemporaryDirectory() as folder:  # CfnInclude reads the file while it is built
            path = Path(folder) / "template.json"
            path.write_text(json.dumps(template))
            self.template = cloudformation_include.CfnInclude(
                self, "Template", template_file=str(path), parameters=parameters
            )
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] == "AWS::Lambda::Version":  # its description names the code's key:
                # with the key now a literal (the asset's content hash), no Fn::Sub is needed
                self.resource(logical_id).add_property_override("Description", f"code {code.s3_object_key}")
        self.outputs: dict[str, CfnOutput] = {
            name: self.template.get_output(name) for name in template.get("Outputs", {})
        }

    def resource(self, logical_id: str) -> Any:
        """The included resource with the CloudFormation renderer's `logical_id` (e.g. `Function`)."""
        return self.template.get_resource(logical_id)
