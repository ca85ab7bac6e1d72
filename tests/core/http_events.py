"""The HTTP event builders of `lift.testing.events`, by the source name Lift gives each (the core
tests that drive every HTTP source, VPC Lattice included, through the same requests)."""

from __future__ import annotations

from lift.testing import events

BUILDERS = {
    "rest": events.apigw_rest,
    "http": events.apigw_http,
    "alb": events.alb,
    "url": events.function_url,
    "lattice": events.vpc_lattice,
}
