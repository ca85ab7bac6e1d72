"""The complete report of an invalid body: every problem with its path, for every model shape the
walk writes out field by field (optional and defaulted fields, renamed and odd field names, nested
and recursive models, unknown fields, a model's own __post_init__ check), and no reference cycle
left behind per invalid request."""

from __future__ import annotations

import dataclasses
import enum
import gc
import json
from typing import Annotated, Any, TypedDict

import msgspec
import pytest

from lift import App, Context
from lift.binding import InvalidBody
from lift.errors import ValidationFailed
from lift.observability.redaction import PII
from lift.sources.apigw_rest import request_from_event as rest_request
from lift.testing import events, lambda_context


class Tree(msgspec.Struct):
    name: str
    children: list[Tree] = []


class Odd(msgspec.Struct, rename={"quote": "it's odd'", "brace": "{x}"}):
    quote: int
    brace: int


class Window(msgspec.Struct, forbid_unknown_fields=True):
    low: int
    high: int
    note: str | None = None

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError("low must not be above high")


class Camel(msgspec.Struct, rename="camel"):
    first_name: str
    age_years: int


class Cat(msgspec.Struct, tag="cat", tag_field="kind", rename="camel"):
    lives_left: int
    owner_name: str


class Dog(msgspec.Struct, tag="dog", tag_field="kind", rename="camel", forbid_unknown_fields=True):
    bark_db: Annotated[int, msgspec.Meta(le=10)]


class Version1(msgspec.Struct, tag=1):
    x: int


class Version2(msgspec.Struct, tag=2):
    y: str


class Zoo(msgspec.Struct, rename="camel"):
    pets: list[Cat | Dog]
    by_name: dict[str, Cat | Dog] = {}
    star: Cat | Dog | None = None
    versions: list[Version1 | Version2] = []


class Tier(enum.Enum):
    gold = "gold"


class Row(msgspec.Struct):
    scores: dict[int, int]
    name: str
    tiers: dict[Tier, int] = {}


@dataclasses.dataclass
class Point:
    x: int
    y: int = 0


class Customer(msgspec.Struct):
    name: str
    email: Annotated[str, PII]


class Shape(TypedDict):
    origin: Point
    label: str


def report(model: Any, body: Any) -> list[dict[str, Any]]:
    app = App(name="report")

    def create(ctx: Context, body) -> dict:
        return {}

    create.__annotations__["body"] = model  # (annotations are strings in this module)
    app.post("/things")(create)

    answer = app.handler(
        events.apigw_rest("POST", "/things", body=json.dumps(body), headers={"Content-Type": "application/json"}),
        lambda_context(),
    )
    assert answer["statusCode"] == 422, answer
    return [(p["path"], p["message"]) for p in json.loads(answer["body"])["error"]["details"]]


def test_recursive_models_report_deep_paths() -> None:
    body = {"name": "root", "children": [{"name": "a"}, {"name": 5, "children": [{"children": "x"}]}]}
    assert report(Tree, body) == [
        ("$.children[1].name", "Expected `str`, got `int`"),
        ("$.children[1].children[0].name", "Object missing required field `name`"),
        ("$.children[1].children[0].children", "Expected `array`, got `str`"),
    ]


def test_renamed_and_odd_field_names_are_reported_as_sent() -> None:
    assert report(Odd, {}) == [
        ("$.it's odd'", "Object missing required field `it's odd'`"),
        ("$.{x}", "Object missing required field `{x}`"),
    ]
    assert report(Camel, {"firstName": 1}) == [
        ("$.firstName", "Expected `str`, got `int`"),
        ("$.ageYears", "Object missing required field `ageYears`"),
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"low": 1, "high": "2", "note": None}, [("$.high", "Expected `int`, got `str`")]),
        ({"low": 1, "high": 2, "note": 3}, [("$.note", "Expected `str | null`, got `int`")]),
        (
            {"low": "1", "extra": True},
            [
                ("$.low", "Expected `int`, got `str`"),
                ("$.high", "Object missing required field `high`"),
                ("$", "Object contains unknown field `extra`"),
            ],
        ),
        ({"low": 3, "high": 2}, [("$", "low must not be above high")]),  # fields fine: the model's own check
        ([1, 2], [("$", "Expected `object`, got `array`")]),
    ],
    ids=["wrong-type", "optional-wrong-type", "unknown-and-missing", "post-init", "not-an-object"],
)
def test_optional_unknown_and_whole_model_problems(body: Any, expected: list) -> None:
    assert report(Window, body) == expected


def test_tagged_unions_report_every_problem_of_the_tagged_member_at_its_own_path() -> None:
    """A union of tagged Structs was checked by msgspec alone: only its first problem was listed, and a
    missing field (or tag) was reported at the object's path (`$.pets[1]`), where every other model
    names the field (`$.pets[1].ownerName`)."""
    body = {
        "pets": [
            {"kind": "cat", "livesLeft": "nine"},
            {"kind": "dog", "barkDb": 11, "size": "xl"},
            {"livesLeft": 1},
            {"kind": "cow"},
            {"kind": 5},
            5,
            {"kind": "cat", "livesLeft": 1, "ownerName": "ada"},
        ],
        "byName": {"rex": {"kind": "dog"}},
        "star": {"kind": "cat", "ownerName": 7},
        "versions": [{"type": True, "x": 1}, {"type": 2, "y": 3}],
    }
    assert report(Zoo, body) == [
        ("$.pets[0].livesLeft", "Expected `int`, got `str`"),
        ("$.pets[0].ownerName", "Object missing required field `ownerName`"),
        ("$.pets[1].barkDb", "Expected `int` <= 10"),
        ("$.pets[1]", "Object contains unknown field `size`"),
        ("$.pets[2].kind", "Object missing required field `kind`"),
        ("$.pets[3].kind", "Invalid value 'cow'"),
        ("$.pets[4].kind", "Expected `str`, got `int`"),
        ("$.pets[5]", "Expected `object`, got `int`"),
        ("$.byName.rex.barkDb", "Object missing required field `barkDb`"),
        ("$.star.livesLeft", "Object missing required field `livesLeft`"),
        ("$.star.ownerName", "Expected `str`, got `int`"),
        ("$.versions[0].type", "Expected `int`, got `bool`"),
        ("$.versions[1].y", "Expected `str`, got `int`"),
    ]
    assert report(Cat | Dog, {"kind": "dog", "barkDb": 11}) == [("$.barkDb", "Expected `int` <= 10")]
    assert report(Cat | Dog, {}) == [("$.kind", "Object missing required field `kind`")]


def test_object_keys_of_another_type_than_text_are_read_as_json_reads_them() -> None:
    """A valid object holding a `dict[int, ...]` was listed as invalid when another part of the body
    failed (`"$.rows[0]key` in `$.scores"`, `Expected int, got str`): the report's strict check took no
    text for an int key, where decoding JSON reads `"1"` as 1. A key that is wrong had that same broken
    path; it is now reported at its object's path, naming the key."""
    body = [
        {"scores": {"1": 2, "-3": 4}, "name": "a", "tiers": {"gold": 1}},
        {"scores": {"x": 2, "3": "y"}, "name": 5, "tiers": {"tin": 1}},
    ]
    assert report(list[Row], body) == [
        ("$[1].scores", "Invalid key 'x': Expected `int`, got `str`"),
        ("$[1].scores.3", "Expected `int`, got `str`"),
        ("$[1].name", "Expected `str`, got `int`"),
        ("$[1].tiers", "Invalid key 'tin': Invalid enum value 'tin'"),
    ]
    assert report(dict[int, int], {"7": 1, "seven": 2}) == [("$", "Invalid key 'seven': Expected `int`, got `str`")]


def test_dataclass_inside_a_typeddict_reports_nested_paths() -> None:
    assert report(Shape, {"origin": {"y": "1"}, "label": None}) == [
        ("$.origin.x", "Object missing required field `x`"),
        ("$.origin.y", "Expected `int`, got `str`"),
        ("$.label", "Expected `str`, got `null`"),
    ]


@pytest.mark.parametrize(
    ("body", "ctype", "status"),
    [
        ('{"low": "1"}', "application/json", 422),
        ('{"low": "1"}', "application/json; charset=utf-8", 422),  # (the body getter, not the inline decode)
        ('{"low": 1,', "application/json", 400),
        ('{"low": 1,', "application/json; charset=utf-8", 400),
    ],
)
def test_an_invalid_body_leaves_no_reference_cycle_behind(body: str, ctype: str, status: int) -> None:
    """Each invalid request's exception, traceback and frames are freed at once, not left to the
    cyclic garbage collector (whose passes would cost every later request)."""
    app = App(name="report")

    @app.post("/windows")
    def create(ctx: Context, body: Window) -> dict:
        return {}

    event = events.apigw_rest("POST", "/windows", body=body, headers={"Content-Type": ctype})
    context = lambda_context()
    for _ in range(3):
        assert app.handler(event, context)["statusCode"] == status
    gc.collect()
    gc.disable()
    try:
        for _ in range(50):
            app.handler(event, context)
        assert gc.collect() == 0
    finally:
        gc.enable()


def _window_app() -> App:
    app = App(name="report")

    @app.post("/windows")
    def create(ctx: Context, body: Window) -> dict:
        return {}

    return app


_INVALID = events.apigw_rest("POST", "/windows", body='{"low": "1"}', headers={"Content-Type": "application/json"})


def test_the_invalid_body_line_is_logged_when_info_is_on(caplog: pytest.LogCaptureFixture) -> None:
    app = _window_app()
    with caplog.at_level("INFO", logger="lift"):
        answer = app.handler(_INVALID, lambda_context())
    assert answer["statusCode"] == 422
    lines = [r for r in caplog.records if r.name == "lift" and "422 validation_failed" in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelname == "INFO"
    assert lines[0].details == json.loads(answer["body"])["error"]["details"]


def test_every_invalid_body_line_names_its_request_and_where_lift_wrote_it(caplog: pytest.LogCaptureFixture) -> None:
    """The 4xx line is built without logging's stack search: each line still carries its own request
    id, the error's details and the place in Lift that wrote it (file, line, function), line after line."""
    app = _window_app()
    contexts = [lambda_context() for _ in range(3)]
    with caplog.at_level("INFO", logger="lift"):
        answers = [app.handler(_INVALID, context) for context in contexts]
    lines = [r for r in caplog.records if r.name == "lift"]
    assert [r.levelname for r in lines] == ["INFO"] * 3
    for line, context, answer in zip(lines, contexts, answers, strict=True):
        assert (
            line.request_id == context.aws_request_id and f"(request_id={context.aws_request_id})" in line.getMessage()
        )
        assert line.getMessage().startswith("422 validation_failed in POST /windows")
        assert line.details == json.loads(answer["body"])["error"]["details"]
        assert (line.funcName, line.module) == ("error_response", "app") and line.pathname.endswith("app.py")
        assert line.lineno == lines[0].lineno > 0


def test_an_exception_handler_for_validation_failed_answers_the_invalid_body() -> None:
    app = _window_app()

    @app.exception_handler(ValidationFailed)
    def problems_as_list(ctx: Context, exc: ValidationFailed) -> dict:
        return {"problems": [p["path"] for p in exc.details]}

    answer = app.handler(_INVALID, lambda_context())
    assert answer["statusCode"] == 422  # a plain value from a LiftError's handler keeps the error's status
    assert json.loads(answer["body"]) == {"problems": ["$.low", "$.high"]}


def test_the_direct_call_returns_an_invalid_body_instead_of_raising() -> None:
    """On the direct path (no middleware) a body that fails its type is handed back as an InvalidBody
    holding every problem, with no exception made or raised; the App answers its 422 from it."""
    app = _window_app()
    endpoint = app.endpoints[0]
    answer = app.handler(_INVALID, lambda_context())  # compiles the direct call
    assert answer["statusCode"] == 422
    ctx = app.new_context(_INVALID, lambda_context(), "rest", rest_request(_INVALID))
    result = endpoint.binder.compile_direct()(ctx, None)
    assert type(result) is InvalidBody
    assert [p["path"] for p in result.problem] == ["$.low", "$.high"]
    assert json.loads(answer["body"])["error"]["details"] == list(result.problem)
    error = result.error()
    assert type(error) is ValidationFailed and error.details is result.problem


def test_an_invalid_body_of_a_route_whose_result_is_masked_is_still_a_422() -> None:
    """A route returning a model with PII fields has its direct call wrapped (lift.pii): an invalid
    body passes through the wrapper untouched and is answered with every problem."""
    app = App(name="report")

    @app.post("/windows", status=201)
    def create(ctx: Context, body: Window) -> Customer:
        return Customer(name="Ada", email="ada@example.com")

    answer = app.handler(_INVALID, lambda_context())
    assert answer["statusCode"] == 422
    assert [d["path"] for d in json.loads(answer["body"])["error"]["details"]] == ["$.low", "$.high"]
    good = events.apigw_rest(
        "POST", "/windows", body='{"low": 1, "high": 2}', headers={"Content-Type": "application/json"}
    )
    answer = app.handler(good, lambda_context())
    assert answer["statusCode"] == 201 and json.loads(answer["body"])["email"] != "ada@example.com"


class Address(msgspec.Struct):
    city: str


class Profile(msgspec.Struct):
    name: str | None
    age: int | None = None
    tags: list[str | None] = []
    address: Address | None = None
    scores: dict[str, float | None] = {}
    nick: Annotated[str, msgspec.Meta(min_length=3)] | None = None
    items: list[int] | None = None
    either: int | str | None = None


@dataclasses.dataclass
class OptionalName:
    name: str | None


class OptionalNameDict(TypedDict):
    name: str | None


def test_optionals_and_unions_name_the_whole_accepted_type_as_msgspec_does() -> None:
    """`str | None` accepts null too: its message says so (`str | null`), for a field, a list item, a
    mapping value and a model or array that may be null; a nested field names its own type."""
    body = {
        "name": 5,
        "age": "x",
        "tags": ["a", 3, None],
        "address": 7,
        "scores": {"a": "b", "c": None},
        "nick": "ab",
        "items": 5,
        "either": 1.5,
    }
    assert report(Profile, body) == [
        ("$.name", "Expected `str | null`, got `int`"),
        ("$.age", "Expected `int | null`, got `str`"),
        ("$.tags[1]", "Expected `str | null`, got `int`"),
        ("$.address", "Expected `object | null`, got `int`"),
        ("$.scores.a", "Expected `float | null`, got `str`"),
        ("$.nick", "Expected `str` of length >= 3"),
        ("$.items", "Expected `array | null`, got `int`"),
        ("$.either", "Expected `int | str | null`, got `float`"),
    ]
    assert report(Profile, {"name": None, "address": {"city": 5}}) == [("$.address.city", "Expected `str`, got `int`")]
    # the first problem is msgspec's own: the report agrees with it
    with pytest.raises(msgspec.ValidationError, match=r"Expected `str \| null`, got `int` - at `\$.name`"):
        msgspec.convert({"name": 5}, Profile)


@pytest.mark.parametrize("model", [OptionalName, OptionalNameDict])
def test_optionals_of_dataclasses_and_typeddicts_name_the_whole_type(model: Any) -> None:
    assert report(model, {"name": 5}) == [("$.name", "Expected `str | null`, got `int`")]
    assert report(model, {"name": []}) == [("$.name", "Expected `str | null`, got `array`")]


def test_optional_messages_are_the_same_with_middleware_and_for_record_payloads(caplog) -> None:
    """The walk behind every report: the direct path (above), a route behind middleware, an SQS record."""
    app = App(name="paths")
    app.use(lambda ctx, call_next: call_next(ctx))
    failures: list = []

    @app.post("/profiles")
    def create(body: Profile) -> dict:
        return {}

    @app.sqs("profiles")
    def consume(body: Profile) -> None:
        return None

    answer = app.handler(
        events.apigw_rest("POST", "/profiles", body='{"name": 1}', headers={"Content-Type": "application/json"}),
        lambda_context(),
    )
    assert json.loads(answer["body"])["error"]["details"][0]["message"] == "Expected `str | null`, got `int`"
    caplog.set_level("WARNING", logger="lift")
    caplog.clear()  # (the 422's INFO line is there when an earlier test left the lift logger at INFO)
    out = app.handler(events.sqs("profiles", [{"name": 1}]), lambda_context())
    failures.extend(out["batchItemFailures"])
    assert len(failures) == 1
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert "Expected `str | null`, got `int`" in caplog.records[0].getMessage()


def test_the_complete_report_is_loaded_by_the_first_invalid_body() -> None:
    """`import lift`, registration and valid bodies do not load the problem walk (lift.problem_walk,
    a cold start's first request seldom needs it); the first invalid body loads it and lists every
    problem."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import json, sys
        import msgspec
        from lift import App, Context
        from lift.testing import events, lambda_context

        class NewUser(msgspec.Struct):
            name: str
            email: str
            age: int

        app = App(name="walk")

        @app.post("/users", status=201)
        def create(ctx: Context, body: NewUser) -> dict:
            return {"name": body.name}

        def post(body):
            event = events.apigw_rest("POST", "/users", body=json.dumps(body), resource="/users",
                                      headers={"Content-Type": "application/json"})
            answer = app.handler(event, lambda_context())
            return [answer["statusCode"], json.loads(answer["body"]), "lift.problem_walk" in sys.modules]

        print(json.dumps(post({"name": "Ada", "email": "a@b.c", "age": 36})))
        print(json.dumps(post({"name": "Ada", "age": "old"})))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    valid, invalid = (json.loads(line) for line in out.stdout.splitlines())
    assert valid == [201, {"name": "Ada"}, False], out.stderr
    status, body, loaded = invalid
    assert (status, loaded) == (422, True)
    assert [problem["path"] for problem in body["error"]["details"]] == ["$.email", "$.age"]
