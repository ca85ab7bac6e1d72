"""The testing snippets of README.md and docs/testing.md run as written: each is read from the
document (not copied here) and run against an app that has what the snippet names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _blocks(doc: str, section: str, lang: str) -> list[str]:
    """The ```lang code blocks of `section` (a markdown heading) in `doc`."""
    text = (ROOT / doc).read_text(encoding="utf-8")
    start = text.index(section)
    end = text.find("\n## ", start + len(section))
    return re.findall(rf"```{lang}\n(.*?)```", text[start : end if end != -1 else None], re.S)


README_APP = """
import msgspec
from lift import App

class NewUser(msgspec.Struct):
    name: str
    email: str

app = App("users")
seen = []

@app.post("/users", status=201)
def create_user(body: NewUser) -> dict:
    return {"id": 1, "name": body.name}

@app.sqs("orders")
def on_order(body: dict) -> None:
    seen.append(body)
"""


def test_the_readme_testing_snippet_runs_as_written() -> None:
    namespace: dict = {}
    exec(README_APP, namespace)
    (snippet,) = _blocks("README.md", "## Testing your app", "python")
    scope = {"app": namespace["app"]}
    exec(snippet, scope)
    assert scope["result"] == {"batchItemFailures": []}
    assert namespace["seen"] == [{"id": 1}, {"id": 2}]


WORKED_APP = """
import msgspec
from lift import App, Context

class Order(msgspec.Struct):
    sku: str
    quantity: int

app = App("orders")

@app.post("/orders", status=201)
def create_order(ctx: Context, body: Order) -> dict:
    ctx.logger.info("creating order", sku=body.sku)
    ctx.metrics.add("OrdersCreated", 1, unit="Count")
    return {"sku": body.sku}

@app.sqs("orders")
def on_order(body: Order) -> None:
    pass
"""


def test_the_worked_example_of_docs_testing_runs_as_written(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, dynamodb_endpoint: str
) -> None:
    (toml,) = _blocks("docs/testing.md", "## A worked example", "toml")
    (tests,) = _blocks("docs/testing.md", "## A worked example", "python")
    assert tests.startswith("# tests/test_orders.py\n")
    monkeypatch.setenv("LIFT_TEST_DYNAMODB_ENDPOINT", dynamodb_endpoint)  # the suite's DynamoDB Local
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
    pytester.makepyprojecttoml(toml)
    pytester.makepyfile(app=WORKED_APP)
    pytester.mkdir("tests")
    (pytester.path / "tests" / "test_orders.py").write_text(tests, encoding="utf-8")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", "tests")
    result.assert_outcomes(passed=3)
