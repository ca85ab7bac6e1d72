"""Ready-to-run Pulumi and CDK projects for a service: what `lift synth --format pulumi|cdk` writes.

    lift synth --format pulumi -o infra/pulumi   # Pulumi.yaml, __main__.py, Pulumi.<stage>.yaml per stage
    lift synth --format cdk -o infra/cdk         # cdk.json, app.py (a stack per stage)

Each program imports the service's App from its project (the directory of its pyproject.toml or
lift.toml, found relative to the program's own file), builds the stage's deployment model with
`lift.deploy.build_deployment` and instantiates the provider's `LiftService` (`lift.deploy.pulumi`,
`lift.deploy.cdk`) on it, with the zip `lift package STAGE` writes (`.lift/STAGE/package.zip`).
The files are plain text generated from the model's stages, byte-identical for the same project
and output directory; writing them needs neither SDK (running them does: `lift-lambda[pulumi]`,
`lift-lambda[cdk]`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lift.deploy.model import Deployment

__all__ = ["cdk_project", "package_path", "pulumi_project"]


def package_path(stage: str, layer: bool = False) -> str:
    """Where `lift package STAGE` writes the function's zip (or the dependencies layer's), relative
    to the service's project."""
    return f".lift/{stage}/{'layer' if layer else 'package'}.zip"


def _relative(target: Path, start: Path) -> str:
    return Path(os.path.relpath(target.resolve(), start.resolve())).as_posix()


def _import_lines(module: str, attr: str) -> tuple[str, str]:
    """The import statement of the App and the line binding it to `lift_app`."""
    if "." in attr:
        return f"import {module}", f'lift_app = operator.attrgetter("{attr}")({module})'
    return f"from {module} import {attr} as lift_app", ""


def _preamble(project: Path, out: Path, app_root: Path, module: str, attr: str, provider: str) -> str:
    """The lines that put the App's import root on sys.path and import it, and `provider`'s
    (`pulumi` or `cdk`) LiftService."""
    to_project = _relative(project, out)
    to_root = _relative(app_root, project)
    import_app, bind = _import_lines(module, attr)
    where = "PROJECT" if to_root == "." else f'PROJECT / "{to_root}"'
    lines = [
        "# the service's project (its pyproject.toml / lift.toml), relative to this file",
        f'PROJECT = (Path(__file__).resolve().parent / "{to_project}").resolve()',
        f"sys.path.insert(0, str({where}))  # where {module} is imported from",
        "",
        "from lift.deploy import build_deployment, load_config  # noqa: E402",
        f"from lift.deploy.{provider} import LiftService  # noqa: E402",
        f"{import_app}  # noqa: E402",
    ]
    if bind:
        lines += ["", bind]
    return "\n".join(lines)


def _stages(deployments: Iterable[Deployment]) -> list[Deployment]:
    return sorted(deployments, key=lambda d: d.stage)


def pulumi_project(
    deployments: Iterable[Deployment], *, project: Path, out: Path, app_root: Path, module: str, attr: str
) -> dict[str, str]:
    """The files (name -> text) of a Pulumi project deploying the service, one stack per stage.

    `deployments` are the service's stages (each becomes `Pulumi.<stage>.yaml`, holding the stage's
    region and the settings `LiftService` takes as arguments, so `pulumi config set lift:memory_size
    2048 -s prod` changes one stack); `project` is the service's project directory, `out` where the
    files go, `module:attr` the App, importable from `app_root`."""

    stages = _stages(deployments)
    service, handler = stages[0].service, stages[0].function.handler
    preamble = _preamble(project, out, app_root, module, attr, "pulumi")
    bind_operator = "import operator\n" if "." in attr else ""
    main = f'''"""Pulumi program of the {service} Lift service, written by `lift synth --format pulumi`.

One stack per stage, named after it (`pulumi stack init prod`); each stack's config
(Pulumi.<stage>.yaml) holds the stage's region and settings. Deploy a stage with
`lift package prod && pulumi up -s prod`. `lift synth --format pulumi` writes this file again.
"""

{bind_operator}import sys
from pathlib import Path

import pulumi

{preamble}

stage = pulumi.get_stack()  # the [tool.lift.stages.*] name
config = pulumi.Config("lift")
deployment = build_deployment(lift_app, load_config(PROJECT), stage, handler="{handler}")
layer = config.get("layer_artifact_path")
service = LiftService(
    "{service}",
    deployment,
    artifact_path=str(PROJECT / config.require("artifact_path")),
    layer_artifact_path=str(PROJECT / layer) if layer else None,
    memory_size=config.get_int("memory_size"),
    timeout=config.get_int("timeout"),
    log_retention_days=config.get_int("log_retention_days"),
    environment=config.get_object("environment"),
)
pulumi.export("function_name", service.function_name)
pulumi.export("function_arn", service.function_arn)
for name in ("api_url", "websocket_url", "domain_url", "domain_target"):
    if getattr(service, name) is not None:
        pulumi.export(name, getattr(service, name))
'''
    files = {
        "Pulumi.yaml": _yaml_file(
            f"The Pulumi project of the {service} Lift service (written by lift synth --format pulumi).",
            {
                "name": service,
                "description": f"{service}, a Lift service: one stack per stage",
                "runtime": {"name": "python"},
            },
        ),
        "__main__.py": main,
        "requirements.txt": "lift-lambda[pulumi]\n",
    }
    for d in stages:
        fn = d.function
        settings: dict[str, Any] = {
            "aws:region": d.region,
            "lift:artifact_path": package_path(d.stage),
            "lift:memory_size": str(fn.memory),
            "lift:timeout": str(fn.timeout),
            "lift:log_retention_days": str(d.log_groups[0].retention_days if d.log_groups else 30),
        }
        if d.layers:
            settings["lift:layer_artifact_path"] = package_path(d.stage, layer=True)
        files[f"Pulumi.{d.stage}.yaml"] = _yaml_file(
            f"Stack {d.stage} of {service}: the stage's region and settings (lift package {d.stage} writes the zip).",
            {"config": settings},
        )
    return files


def _yaml_file(comment: str, data: dict[str, Any]) -> str:
    import yaml

    return f"# {comment}\n" + yaml.safe_dump(data, sort_keys=True, default_flow_style=False)


def cdk_project(
    deployments: Iterable[Deployment], *, project: Path, out: Path, app_root: Path, module: str, attr: str
) -> dict[str, str]:
    """The files (name -> text) of a CDK app deploying the service: a stack per stage (named like
    `lift deploy`'s, `SERVICE-STAGE`, in the stage's region, with its tags) holding the stage's
    `LiftService`. `-c stage=prod` (or `prod,dev`) picks the stages to synthesize."""
    stages = _stages(deployments)
    service, handler = stages[0].service, stages[0].function.handler
    preamble = _preamble(project, out, app_root, module, attr, "cdk")
    bind_operator = "import operator\n" if "." in attr else ""
    names = ", ".join(f'"{d.stage}"' for d in stages)
    app = f'''"""CDK app of the {service} Lift service, written by `lift synth --format cdk`.

A stack per stage ({", ".join(d.stack_name for d in stages)}), each holding the stage's LiftService
construct in the stage's region. Deploy one with `lift package prod && cdk deploy -c stage=prod`;
without `-c stage=...` every stage is synthesized, so each needs its package.
`lift synth --format cdk` writes this file again.
"""

{bind_operator}import sys
from pathlib import Path

import aws_cdk as cdk

{preamble}

STAGES = [{names}]


def main():
    """Synthesize the stacks (into cdk.out, or where the CDK CLI says); returns the cloud assembly."""
    app = cdk.App()
    chosen = app.node.try_get_context("stage")
    config = load_config(PROJECT)
    for stage in chosen.split(",") if chosen else STAGES:
        deployment = build_deployment(lift_app, config, stage, handler="{handler}")
        package = PROJECT / ".lift" / stage / "package.zip"
        layer = PROJECT / ".lift" / stage / "layer.zip" if deployment.layers else None
        for path in (package, layer):
            if path is not None and not path.is_file():
                sys.exit(f"{{path}} does not exist: run `lift package {{stage}}` first (or choose stages: -c stage=NAME)")
        stack = cdk.Stack(
            app,
            deployment.stack_name,
            env=cdk.Environment(region=deployment.region),
            tags=dict(deployment.tags),
            description=f"{{deployment.service}} ({{stage}}): a Lift service",
        )
        LiftService(
            stack,
            "Service",
            deployment,
            artifact_path=str(package),
            layer_artifact_path=str(layer) if layer else None,
        )
    return app.synth()


if __name__ == "__main__":
    main()
'''
    cdk_json = {"app": "python3 app.py"}
    return {"cdk.json": json.dumps(cdk_json, indent=2, sort_keys=True) + "\n", "app.py": app}
