"""`SecretStr` and `SecretBytes`: values that never show themselves in a repr, a str(), a log line or a traceback."""

from __future__ import annotations

import hmac
from typing import Any

__all__ = ["SecretStr", "SecretBytes", "MASKED"]

MASKED = "**********"


class _Secret:
    """What both secrets share: masked everywhere, immutable, compared in constant time, never pickled."""

    __slots__ = ("_value",)
    _value: Any

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __str__(self) -> str:
        return MASKED

    def __format__(self, spec: str) -> str:
        return MASKED

    def __bool__(self) -> bool:
        return bool(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        if type(other) is type(self):
            return hmac.compare_digest(_as_bytes(self._value), _as_bytes(other._value))  # type: ignore[attr-defined]
        return NotImplemented

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._value))

    def __copy__(self) -> Any:  # immutable: a copy is itself (copy/deepcopy of settings, pydantic copies)
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return self

    def __reduce__(self) -> Any:  # pickling (multiprocessing, caches) must not write the value out
        raise TypeError(f"{type(self).__name__} cannot be pickled")

    def __getstate__(self) -> Any:
        raise TypeError(f"{type(self).__name__} cannot be pickled")


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value


class SecretStr(_Secret):
    """A secret string. `get_secret_value()` is the only way to the text.

    Not a `str` subclass on purpose: a subclass would leak through concatenation, `%s`
    formatting of its characters, slicing and JSON encoders that treat it as a string.
    """

    __slots__ = ()

    def __init__(self, value: str) -> None:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if not isinstance(value, str):
            raise TypeError(f"SecretStr needs a str, not {type(value).__name__}")
        object.__setattr__(self, "_value", value)

    def get_secret_value(self) -> str:
        return self._value  # type: ignore[no-any-return]

    def json(self) -> Any:
        """The secret parsed as JSON (a Secrets Manager secret holding key/value pairs)."""
        import msgspec

        return msgspec.json.decode(self._value)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        """Lets a pydantic settings model declare `lift.config.SecretStr` fields (serialized masked)."""
        from pydantic_core import core_schema

        def validate(value: Any) -> SecretStr:
            if isinstance(value, str | SecretStr):
                return cls(value)
            raise ValueError("expected a string secret")

        return core_schema.no_info_plain_validator_function(
            validate, serialization=core_schema.plain_serializer_function_ser_schema(str)
        )

    def __repr__(self) -> str:
        return f"SecretStr('{MASKED}')"


class SecretBytes(_Secret):
    """A binary secret (a Secrets Manager `SecretBinary`: a key, a keystore). `get_secret_value()`
    is the only way to the bytes; it shows, compares and refuses pickling as `SecretStr` does."""

    __slots__ = ()

    def __init__(self, value: bytes | bytearray | memoryview) -> None:
        if isinstance(value, SecretBytes):
            value = value.get_secret_value()
        if not isinstance(value, bytes | bytearray | memoryview):
            raise TypeError(f"SecretBytes needs bytes, not {type(value).__name__}")
        object.__setattr__(self, "_value", bytes(value))

    def get_secret_value(self) -> bytes:
        return self._value  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"SecretBytes(b'{MASKED}')"
