"""The dev server's LIFT_DEV_* settings: lift.env_settings (app.asgi reads its own with it too)."""

from lift.env_settings import SettingError, env_number

__all__ = ["SettingError", "env_number"]
