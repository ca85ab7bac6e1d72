"""Typed settings from environment variables, SSM Parameter Store, Secrets Manager and AppConfig.

```python
import msgspec
from lift.config import Settings, SecretStr, Env, Parameter, Secret

class AppSettings(msgspec.Struct):
    table: str = Env("TABLE_NAME")
    api_url: str = Parameter("/prod/api/url")
    db_password: SecretStr = Secret("prod/db#password")

settings = Settings(AppSettings, ttl=300, app=app)   # nothing fetched yet
settings.get().db_password.get_secret_value()        # loaded once per execution environment
```
"""

from lift.config.backends import Boto3Backend, ExtensionBackend, extension_present
from lift.config.secret import SecretBytes, SecretStr
from lift.config.settings import (
    ConfigError,
    Settings,
    app_iam_statements,
    declared_sources,
    iam_statements,
    load,
    on_change,
    settings_of,
)
from lift.config.sources import AppConfig, Env, Parameter, Secret, Source

__all__ = [
    "AppConfig",
    "Boto3Backend",
    "ConfigError",
    "Env",
    "ExtensionBackend",
    "Parameter",
    "Secret",
    "SecretBytes",
    "SecretStr",
    "Settings",
    "Source",
    "app_iam_statements",
    "declared_sources",
    "extension_present",
    "iam_statements",
    "load",
    "on_change",
    "settings_of",
]
