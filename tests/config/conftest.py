"""Fixtures for lift.config: boto3 pointed at the session's moto server, and the extension emulator."""

from __future__ import annotations

import json
import os
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


class IamMoto:
    """A second moto server that enforces IAM (moto's "IAM-like access control").

    The shared `moto_endpoint` stays permissive (other tests rely on it). Here every request
    must be signed with the access key of an IAM user that exists on this server and whose
    policies allow the action: moto starts enforcing once `INITIAL_NO_AUTH_ACTION_COUNT` is
    reached, which `/moto-api/reset-auth` sets (what moto's `set_initial_no_auth_action_count`
    does in server mode). One admin user is made while auth is off; it then sets up the rest.
    Note: moto checks the action, not the resource, for SSM and Secrets Manager (it authorizes
    against resource "*"), so a grant must name Resource "*" to be honoured here.
    """

    def __init__(self) -> None:
        import urllib.request

        from lift.testing.services import start_moto_server

        self.server = start_moto_server()
        self.endpoint = f"http://127.0.0.1:{self.server.port}"
        self.admin = self.user("lift-admin", [{"Effect": "Allow", "Action": "*", "Resource": "*"}])
        request = urllib.request.Request(
            f"{self.endpoint}/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"}
        )
        with urllib.request.urlopen(request, timeout=10) as resp:  # from now on every call is checked
            assert resp.status == 200

    def user(self, name: str, statements: list[dict]) -> boto3.session.Session:
        """A new IAM user with one inline policy of `statements`, as a boto3 session."""
        iam = (self.admin if hasattr(self, "admin") else boto3.session.Session()).client(
            "iam", endpoint_url=self.endpoint
        )
        iam.create_user(UserName=name)
        if statements:
            iam.put_user_policy(
                UserName=name,
                PolicyName="grants",
                PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
            )
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return boto3.session.Session(
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
            region_name=os.environ["AWS_DEFAULT_REGION"],
        )

    def client(self, service: str, session: boto3.session.Session | None = None):
        return (session or self.admin).client(service, endpoint_url=self.endpoint)


@pytest.fixture(scope="session")
def iam_moto() -> IamMoto:
    enforcing = IamMoto()
    yield enforcing
    enforcing.server.stop()
