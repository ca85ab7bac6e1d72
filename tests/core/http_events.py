"""The HTTP event builders of `lift.testing.events`, by the source name Lift gives each (the core
tests that drive every HTTP source, VPC Lattice included, through the same requests)."""

from __future__ import annotations

import functools
from typing import Any

from lift.testing import events

BUILDERS = {
    "rest": events.apigw_rest,
    "http": events.apigw_http,
    "alb": events.alb,
    "url": events.function_url,
    "lattice": events.vpc_lattice,
}

# every HTTP source, and ALB with its target group's multi-value headers on ("alb-multi")
VARIANTS = {**BUILDERS, "alb-multi": functools.partial(events.alb, multi_value=True)}


def answer_headers(out: dict[str, Any]) -> dict[str, str]:
    """An HTTP answer's headers by lower-case name, from `headers` or (ALB in multi-value mode) the
    last value of each `multiValueHeaders` entry."""
    if "multiValueHeaders" in out and "headers" not in out:
        return {k.lower(): v[-1] for k, v in out["multiValueHeaders"].items()}
    return {k.lower(): v for k, v in (out.get("headers") or {}).items()}
