"""DynamoDB streams: records with images as plain Python values, and the partial-batch response."""

from __future__ import annotations

import binascii
from decimal import Decimal
from typing import Any

from lift.sources.record import Record, malformed_record, name_from_arn

__all__ = ["DynamoDBRecord", "from_attribute_value", "from_image"]


class DynamoDBRecord(Record):
    """One stream record: event_name (INSERT/MODIFY/REMOVE), keys, new_image, old_image.

    Images are plain Python values: numbers are `Decimal`, sets are `set`, binary is `bytes`.
    A typed body is built from NewImage (OldImage for REMOVE; Keys when the stream has no images).
    """

    _keys: Any = None
    _new: Any = None
    _old: Any = None

    kind = "dynamodb"

    @property
    def _stream(self) -> dict[str, Any]:
        stream = self.raw.get("dynamodb")
        if stream.__class__ is dict:
            return stream
        if stream is None:
            return {}
        raise malformed_record("dynamodb", "an object", stream)

    @property
    def record_id(self) -> str | None:
        return self._stream.get("SequenceNumber")

    @property
    def event_id(self) -> str | None:
        return self.raw.get("eventID")

    @property
    def sequence_number(self) -> str | None:
        return self._stream.get("SequenceNumber")

    @property
    def event_name(self) -> str:
        return self.raw.get("eventName") or ""

    @property
    def table_arn(self) -> str:
        return self.raw.get("eventSourceARN") or ""

    @property
    def table(self) -> str:
        return name_from_arn(self.table_arn)

    @property
    def stream_view_type(self) -> str | None:
        return self._stream.get("StreamViewType")

    @property
    def approximate_creation_time(self) -> float | None:
        return self._stream.get("ApproximateCreationDateTime")

    @property
    def size_bytes(self) -> int | None:
        return self._stream.get("SizeBytes")

    @property
    def keys(self) -> dict[str, Any]:
        if self._keys is None:
            self._keys = _image(self._stream.get("Keys"))
        return self._keys

    @property
    def new_image(self) -> dict[str, Any] | None:
        if self._new is None and "NewImage" in self._stream:
            self._new = _image(self._stream["NewImage"])
        return self._new

    @property
    def old_image(self) -> dict[str, Any] | None:
        if self._old is None and "OldImage" in self._stream:
            self._old = _image(self._stream["OldImage"])
        return self._old

    def _image_raw(self) -> dict[str, Any] | None:
        stream = self._stream
        if self.event_name == "REMOVE":
            return stream.get("OldImage") or stream.get("Keys")
        return stream.get("NewImage") or stream.get("Keys")

    def payload(self) -> Any:
        if self.event_name == "REMOVE":
            return self.old_image or self.keys
        return self.new_image or self.keys

    def model_input(self) -> Any:
        """The image with whole numbers as int (so `int` fields validate) and the others as exact
        `Decimal` (a `float` field converts it, a `Decimal` field keeps every digit)."""
        return _image(self._image_raw(), plain_numbers=True)


def _image(image: Any, plain_numbers: bool = False) -> dict[str, Any]:
    """`from_image` for a record's own image: one that is no DynamoDB JSON (or nests past the
    interpreter's depth limit) fails that record alone, with a 400-class reason."""
    try:
        return from_image(image, plain_numbers)
    except RecursionError:
        raise malformed_record("image", "DynamoDB JSON", image, "nested too deeply") from None
    except (ValueError, TypeError, AttributeError):
        raise malformed_record("image", "DynamoDB JSON", image) from None


def from_image(image: dict[str, Any] | None, plain_numbers: bool = False) -> dict[str, Any]:
    """A DynamoDB-JSON item (`{"Id": {"N": "1"}}`) as plain Python values."""
    if not image:
        return {}
    return {name: from_attribute_value(value, plain_numbers) for name, value in image.items()}


def _number(text: str, plain: bool) -> Any:
    if not plain:
        return Decimal(text)
    try:
        return int(text)
    except ValueError:  # never through float: "12345678901234567.01" would lose its cents
        return Decimal(text)


def from_attribute_value(value: dict[str, Any], plain_numbers: bool = False) -> Any:
    """One DynamoDB attribute value (`{"S": ...}`, `{"N": ...}`, `{"M": ...}`, ...) as Python."""
    ((kind, data),) = value.items()
    if kind == "S":
        return data
    if kind == "N":
        return _number(data, plain_numbers)
    if kind == "BOOL":
        return bool(data)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: from_attribute_value(v, plain_numbers) for k, v in data.items()}
    if kind == "L":
        return [from_attribute_value(v, plain_numbers) for v in data]
    if kind == "B":  # strictly: a corrupt value fails its record (ValueError), never altered bytes
        return binascii.a2b_base64(data, strict_mode=True)
    if kind == "SS":
        return set(data)
    if kind == "NS":
        return {_number(n, plain_numbers) for n in data}
    if kind == "BS":
        return {binascii.a2b_base64(b, strict_mode=True) for b in data}
    raise ValueError(f"Unknown DynamoDB attribute type {kind!r}")
