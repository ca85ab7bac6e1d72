"""Deployment: the model built from an App's registrations, its renderers, packaging and AWS operations.

Tooling only: a deployed function never imports `lift.deploy`.

    from lift.deploy import load_config, build_deployment
    deployment = build_deployment(app, load_config("."), "prod")
"""

from __future__ import annotations

from lift.deploy.config import ConfigError, ProjectConfig, StageConfig, config_from_dict, load_config
from lift.deploy.model import Deployment, Expr, ModelError, build_deployment

__all__ = [
    "ConfigError",
    "Deployment",
    "Expr",
    "ModelError",
    "ProjectConfig",
    "StageConfig",
    "build_deployment",
    "config_from_dict",
    "load_config",
]
