"""DynamoDB and Kinesis streams: record fields, typed bodies from images and data."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from lift import App, Context
from lift.errors import UnmatchedEvent
from lift.testing import TestClient, events


class Item(msgspec.Struct):
    Id: int
    Message: str


class Product(msgspec.Struct):
    sku: str
    price: float
    stock: int
    tags: set[str]
    blob: bytes
    meta: dict


class Click(msgspec.Struct):
    page: str


def test_dynamodb_verbatim_sample_images_and_fields(aws_event) -> None:
    app = App()
    got = []

    @app.dynamodb_stream("ExampleTableWithStream")
    def changed(ctx: Context, body: Item) -> None:
        rec = ctx.record
        got.append((ctx.source, rec.event_name, rec.keys, body, rec.old_image, rec.sequence_number))

    assert app.handler(aws_event("dynamodb"), None) == {"batchItemFailures": []}
    new, changed_ = (
        {"Message": "New item!", "Id": Decimal(101)},
        {"Message": "This item has changed", "Id": Decimal(101)},
    )
    assert got == [
        ("dynamodb", "INSERT", {"Id": Decimal(101)}, Item(101, "New item!"), None, "111"),
        ("dynamodb", "MODIFY", {"Id": Decimal(101)}, Item(101, "This item has changed"), new, "222"),
        ("dynamodb", "REMOVE", {"Id": Decimal(101)}, Item(101, "This item has changed"), changed_, "333"),
    ]


def test_dynamodb_plain_values_and_typed_conversion() -> None:
    app = App()
    got = []

    @app.dynamodb_stream("products")
    def changed(ctx: Context, body: Product) -> None:
        got.append((body, ctx.record.new_image))

    image = {
        "sku": "A1",
        "price": Decimal("9.99"),
        "stock": 3,
        "tags": {"x", "y"},
        "blob": b"\x00\x01",
        "meta": {"dims": [1, 2.5], "gift": True, "note": None},
    }
    TestClient(app).dynamodb_stream("products", [{"keys": {"sku": "A1"}, "new_image": image}])
    body, new_image = got[0]
    assert body == Product("A1", 9.99, 3, {"x", "y"}, b"\x00\x01", {"dims": [1, 2.5], "gift": True, "note": None})
    assert new_image == {
        "sku": "A1",
        "price": Decimal("9.99"),
        "stock": Decimal(3),
        "tags": {"x", "y"},
        "blob": b"\x00\x01",
        "meta": {"dims": [Decimal(1), Decimal("2.5")], "gift": True, "note": None},
    }


class Payment(msgspec.Struct):
    amount: Decimal
    rate: float
    cents: int


def test_dynamodb_numbers_reach_a_decimal_field_with_every_digit() -> None:
    """A DynamoDB number has up to 38 digits: it went through float on its way to a typed body, so a
    `Decimal` field got 12345678901234568 for 12345678901234567.01."""
    app = App()
    got = []

    @app.dynamodb_stream("payments")
    def paid(body: Payment) -> None:
        got.append(body)

    image = {"amount": Decimal("12345678901234567.01"), "rate": Decimal("0.1"), "cents": 1234567890123456789012345}
    out = TestClient(app).dynamodb_stream("payments", [{"keys": {"id": "p1"}, "new_image": image}])
    assert out == {"batchItemFailures": []}
    assert got == [Payment(Decimal("12345678901234567.01"), 0.1, 1234567890123456789012345)]
    assert str(got[0].amount) == "12345678901234567.01" and type(got[0].rate) is float


def test_dynamodb_keys_only_stream_gives_keys() -> None:
    app = App()
    got = []

    @app.dynamodb_stream("orders")
    def changed(body: dict) -> None:
        got.append(body)

    TestClient(app).dynamodb_stream(
        "orders", [{"keys": {"pk": "o#1"}, "new_image": {"pk": "o#1", "x": 1}, "view_type": "KEYS_ONLY"}]
    )
    assert got == [{"pk": "o#1"}]


def test_dynamodb_unmatched_table_raises() -> None:
    app = App()

    @app.dynamodb_stream("orders")
    def changed(body: dict) -> None:
        pass

    with pytest.raises(UnmatchedEvent, match="users"):
        TestClient(app).dynamodb_stream("users", [{"keys": {"pk": "u"}}])


def test_kinesis_verbatim_sample(aws_event) -> None:
    app = App()
    got = []

    @app.kinesis("lambda-stream")
    def on_record(ctx: Context, body: str) -> None:
        rec = ctx.record
        got.append((ctx.source, body, rec.partition_key, rec.shard_id, rec.arrival_time.year))

    assert app.handler(aws_event("kinesis"), None) == {"batchItemFailures": []}
    assert got == [
        ("kinesis", "Hello, this is a test.", "1", "shardId-000000000006", 2018),
        ("kinesis", "This is only a test.", "1", "shardId-000000000006", 2018),
    ]


def test_kinesis_typed_json_data_and_bytes() -> None:
    app = App()
    got = []

    @app.kinesis("clicks")
    def click(ctx: Context, body: Click) -> None:
        got.append((body.page, ctx.record.data, ctx.record.sequence_number))

    event = events.kinesis("clicks", [{"page": "/home"}])
    TestClient(app).invoke(event)
    assert got == [("/home", b'{"page":"/home"}', event["Records"][0]["kinesis"]["sequenceNumber"])]


def test_kinesis_binary_data_reaches_a_bytes_body_unchanged() -> None:
    import gzip

    app = App()
    got = []

    @app.kinesis("logs")
    def logs(body: bytes) -> None:  # e.g. a CloudWatch Logs subscription: gzip-compressed JSON
        got.append(gzip.decompress(body))

    payload = b'{"messageType":"DATA_MESSAGE","logEvents":[]}'
    TestClient(app).invoke(events.kinesis("logs", [gzip.compress(payload)]))
    assert got == [payload]


@pytest.mark.parametrize("kind", ["kinesis", "kafka"])
def test_binary_data_for_a_str_body_fails_alone_and_loses_nothing(kind, caplog) -> None:
    """Bytes that are not UTF-8 never reach a `body: str` with replacement characters: that record
    fails alone (retried, or kept by the mapping's failure destination, as it came) with one WARNING."""
    import gzip

    app = App()
    got: list[str] = []
    register = app.kinesis("logs") if kind == "kinesis" else app.kafka("logs")

    @register
    def logs(body: str) -> None:
        got.append(body)

    binary = gzip.compress(b"not text")
    if kind == "kinesis":
        event = events.kinesis("logs", ["caf\u00e9", binary, "ok"])
        expected = [{"itemIdentifier": r["kinesis"]["sequenceNumber"]} for r in event["Records"][1:]]
    else:
        event = events.kafka("logs", ["caf\u00e9", binary, "ok"])
        (records,) = event["records"].values()
        expected = [
            {"itemIdentifier": {"topic-partition": f"logs-{r['partition']}", "offset": r["offset"]}}
            for r in records[1:]
        ]
    # (a shard or partition runs in order: the record after the failure is held back, reported too)
    with caplog.at_level("WARNING", logger="lift"):
        answer = TestClient(app).invoke(event)
    assert answer == {"batchItemFailures": expected}
    assert got == ["caf\u00e9"]
    failed = [r for r in caplog.records if "UTF-8" in r.getMessage()]
    assert len(failed) == 1 and failed[0].levelname == "WARNING"
