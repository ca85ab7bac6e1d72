"""A secret rotated the way a rotation function does it (createSecret puts the new value as
AWSPENDING, finishSecret moves AWSCURRENT to it) is picked up by the next refresh, through boto3
and through the extension; a source reading AWSPENDING sees the new value during the rotation."""

from __future__ import annotations

import json

import msgspec
import pytest

from config.extension_emulator import SESSION_TOKEN
from lift.config import ExtensionBackend, Secret, SecretStr, Settings


@pytest.mark.parametrize("through", ["boto3", "extension"])
def test_a_rotation_finished_with_update_secret_version_stage_is_picked_up(
    through, request, aws, secrets, names, monkeypatch
) -> None:
    """Lift read the secret without naming a stage; the moto server's default stayed on the first
    version after finishSecret moved AWSCURRENT, so the rotated password was never served."""
    backend = None
    if through == "extension":
        monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
        backend = ExtensionBackend(request.getfixturevalue("extension").port)
    first = secrets.create_secret(Name=f"{names}/db", SecretString=json.dumps({"password": "before"}))["VersionId"]

    class Db(msgspec.Struct):
        password: SecretStr = Secret(f"{names}/db#password")
        pending: SecretStr | None = Secret(f"{names}/db#password", version_stage="AWSPENDING", default=None)

    settings = Settings(Db, ttl=None, backend=backend)
    assert settings.get().password.get_secret_value() == "before" and settings.get().pending is None

    # createSecret
    pending = secrets.put_secret_value(
        SecretId=f"{names}/db", SecretString=json.dumps({"password": "after"}), VersionStages=["AWSPENDING"]
    )["VersionId"]
    during = settings.refresh()
    assert during.password.get_secret_value() == "before" and during.pending.get_secret_value() == "after"
    # finishSecret
    secrets.update_secret_version_stage(
        SecretId=f"{names}/db", VersionStage="AWSCURRENT", MoveToVersionId=pending, RemoveFromVersionId=first
    )
    assert settings.refresh().password.get_secret_value() == "after"
