"""At LIFT_LOG_LEVEL=DEBUG (or AWS_LAMBDA_LOG_LEVEL=DEBUG, which Lambda's advanced logging controls
set) the function's logs still hold no secret that lift.config or lift.crypto read: botocore logs
every response body, request parameters and signed headers at DEBUG. A fresh process per run (the
moto server for SSM, Secrets Manager and KMS)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import boto3
import pytest

SCRIPT = textwrap.dedent(
    """
    import sys
    import msgspec
    from lift import App
    from lift.config import Parameter, Secret, SecretStr, Settings
    from lift.crypto import FieldCipher, KMSKeyProvider
    from lift.middleware.logging import RequestLogging
    from lift.testing import TestClient

    prefix, key_id = sys.argv[1], sys.argv[2]

    class Cfg(msgspec.Struct):
        password: SecretStr = Secret(prefix + "/db#password")
        signing: SecretStr = Parameter("/" + prefix + "/signing")

    app = App(name="debugging")
    app.use(RequestLogging())
    settings = Settings(Cfg, app=app)
    cipher = FieldCipher(KMSKeyProvider(key_id))

    @app.get("/pay")
    def pay(ctx) -> dict:
        cfg = settings.get()
        sealed = cipher.encrypt("4111111111111111", tenant="acme", field="card")
        ctx.logger.debug("own debug line", sealed=sealed[:10])
        return {"ok": cipher.decrypt(sealed, tenant="acme", field="card") == "4111111111111111" and bool(cfg)}

    print(TestClient(app).get("/pay").json())
    """
)


@pytest.mark.parametrize("variable", ["LIFT_LOG_LEVEL", "AWS_LAMBDA_LOG_LEVEL"])
def test_debug_logs_hold_no_secret_value_session_token_or_data_key(variable, moto_endpoint, ssm, secrets, names):
    """botocore's DEBUG lines reached the function's logs: 'Response body: ...SecretString...hunter2',
    the decrypted SecureString, KMS's Plaintext data key and the x-amz-security-token header."""
    secrets.create_secret(Name=f"{names}/db", SecretString=json.dumps({"password": "hunter2-db"}))
    ssm.put_parameter(Name=f"/{names}/signing", Value="sk-live-4242", Type="SecureString")
    key_id = boto3.client("kms", endpoint_url=moto_endpoint).create_key()["KeyMetadata"]["KeyId"]
    env = {k: v for k, v in os.environ.items() if k not in ("LIFT_LOG_LEVEL", "AWS_LAMBDA_LOG_LEVEL")}
    env.update(
        {
            variable: "DEBUG",
            "AWS_ENDPOINT_URL": moto_endpoint,
            "LIFT_CONFIG_EXTENSION": "0",
            "AWS_SESSION_TOKEN": "session-token-sekrit",
        }
    )
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, names, key_id], capture_output=True, text=True, timeout=120, env=env, check=True
    )
    output = done.stdout + done.stderr
    assert "{'ok': True}" in output and "own debug line" in output  # DEBUG is on, the app's own lines kept
    for secret in ("hunter2", "sk-live-4242", "session-token-sekrit", "Plaintext", "Response body"):
        assert secret not in output, secret
