"""Where a setting comes from, declared on the field: `db_password: SecretStr = Secret("prod/db#password")`."""

from __future__ import annotations

from typing import Any

__all__ = ["Source", "Env", "Parameter", "Secret", "AppConfig", "MISSING"]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class Source:
    """A declared origin of one setting. `default` is used when the value does not exist."""

    kind = "source"
    service = ""
    secure = False  # values are secrets: the field must be typed SecretStr

    def __init__(self, name: str, *, default: Any = MISSING) -> None:
        if not name:
            raise ValueError(f"{type(self).__name__} needs a name")
        self.name = name
        self.default = default

    def describe(self) -> str:
        return f"{self.service} {self.kind} {self.name!r}"

    def actions(self) -> tuple[str, ...]:
        """The IAM actions reading this value needs."""
        return ()

    def resource_arn(self, region: str = "*", account: str = "*") -> str:
        return "*"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


def _check_kms_key(key: str | None) -> str | None:
    """A customer managed key that encrypts the value: its ARN or id. An alias is refused because
    IAM matches kms:Decrypt against the key's ARN, never the alias's."""
    if key is not None and (key.startswith("alias/") or ":alias/" in key):
        raise ValueError(f"kms_key={key!r}: give the key's ARN or id; an IAM grant on an alias does not cover Decrypt")
    return key


def _kms_key_arn(key: str | None, region: str, account: str) -> str | None:
    if key is None or key.startswith("arn:"):
        return key
    return f"arn:aws:kms:{region}:{account}:key/{key}"


class Env(Source):
    """An environment variable (`Env("TABLE_NAME", default="orders")`)."""

    kind = "environment variable"
    service = "the"

    def describe(self) -> str:
        return f"environment variable {self.name}"


class Parameter(Source):
    """An SSM Parameter Store parameter; SecureString values are decrypted (and must be typed SecretStr)."""

    kind = "parameter"
    service = "SSM Parameter Store"

    def __init__(self, name: str, *, default: Any = MISSING, decrypt: bool = True, kms_key: str | None = None) -> None:
        super().__init__(name, default=default)
        self.decrypt = decrypt
        self.kms_key = _check_kms_key(kms_key)

    def kms_key_arn(self, region: str = "*", account: str = "*") -> str | None:
        return _kms_key_arn(self.kms_key, region, account)

    def actions(self) -> tuple[str, ...]:
        return ("ssm:GetParameter", "ssm:GetParameters")

    def resource_arn(self, region: str = "*", account: str = "*") -> str:
        # IAM names the parameter itself: a version or label selector (`/prod/url:3`) is not part of it
        if self.name.startswith("arn:"):
            head, sep, path = self.name.partition(":parameter/")
            return head + sep + path.partition(":")[0]
        return f"arn:aws:ssm:{region}:{account}:parameter/{self.name.lstrip('/').partition(':')[0]}"


class Secret(Source):
    """A Secrets Manager secret, or one key of its JSON with `id#key` (`Secret("prod/db#password")`)."""

    kind = "secret"
    service = "Secrets Manager"
    secure = True

    def __init__(
        self, name: str, *, default: Any = MISSING, version_stage: str | None = None, kms_key: str | None = None
    ) -> None:
        super().__init__(name, default=default)
        self.secret_id, _, self.key = name.partition("#")
        if not self.secret_id:
            raise ValueError(f"Secret({name!r}) names no secret: write 'secret-id#key'")
        self.version_stage = version_stage
        self.kms_key = _check_kms_key(kms_key)

    def kms_key_arn(self, region: str = "*", account: str = "*") -> str | None:
        return _kms_key_arn(self.kms_key, region, account)

    def describe(self) -> str:
        key = f" (key {self.key!r})" if self.key else ""
        return f"Secrets Manager secret {self.secret_id!r}{key}"

    def actions(self) -> tuple[str, ...]:
        return ("secretsmanager:GetSecretValue",)

    def resource_arn(self, region: str = "*", account: str = "*") -> str:
        if self.secret_id.startswith("arn:"):
            return self.secret_id
        # Secrets Manager appends "-" and six random characters to every secret's ARN.
        return f"arn:aws:secretsmanager:{region}:{account}:secret:{self.secret_id}-??????"


class AppConfig(Source):
    """An AWS AppConfig configuration profile (JSON documents are decoded into the field's type)."""

    kind = "configuration"
    service = "AppConfig"

    def __init__(self, application: str, environment: str, profile: str, *, default: Any = MISSING) -> None:
        super().__init__(f"{application}/{environment}/{profile}", default=default)
        self.application, self.environment, self.profile = application, environment, profile

    def describe(self) -> str:
        return (
            f"AppConfig profile {self.profile!r} (application {self.application!r}, environment {self.environment!r})"
        )

    def actions(self) -> tuple[str, ...]:
        return ("appconfig:StartConfigurationSession", "appconfig:GetLatestConfiguration")

    def resource_arn(self, region: str = "*", account: str = "*") -> str:
        return (
            f"arn:aws:appconfig:{region}:{account}:application/{self.application}"
            f"/environment/{self.environment}/configuration/{self.profile}"
        )
