"""Fixtures for lift.config: boto3 pointed at the session's moto server, and the extension emulator."""

from __future__ import annotations

import uuid

import boto3
import pytest

from config.extension_emulator import SESSION_TOKEN, ExtensionEmulator


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """boto3 (and so lift.config's boto3 backend) talks to moto; the extension is off."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("LIFT_CONFIG_EXTENSION", "0")
    return moto_endpoint


@pytest.fixture
def names() -> str:
    """A unique prefix for this test's parameters and secrets on the shared moto server."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def extension(moto_endpoint: str) -> ExtensionEmulator:
    emulator = ExtensionEmulator(moto_endpoint, SESSION_TOKEN, ttl=0.0)
    yield emulator
    emulator.stop()


@pytest.fixture
def ssm(moto_endpoint: str):
    return boto3.client("ssm", endpoint_url=moto_endpoint)


@pytest.fixture
def secrets(moto_endpoint: str):
    return boto3.client("secretsmanager", endpoint_url=moto_endpoint)
