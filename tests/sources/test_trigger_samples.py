"""`lift events generate` builds every trigger's sample with lift.testing.events: each is
classified as the source it was generated for."""

from __future__ import annotations

import pytest

from lift.cli.samples import SampleOptions, build_event
from lift.cli.trigger_samples import TRIGGER_SAMPLES
from lift.sources import source_of


@pytest.mark.parametrize("source", sorted(TRIGGER_SAMPLES))
def test_generated_trigger_samples_are_classified_as_their_source(source: str) -> None:
    assert source_of(build_event(source, SampleOptions())) == source


@pytest.mark.parametrize("kind", ["token", "request", "http", "http-1.0", "websocket"])
def test_every_authorizer_kind_is_an_authorizer_event(kind: str) -> None:
    assert source_of(build_event("authorizer", SampleOptions(name=kind))) == "authorizer"
