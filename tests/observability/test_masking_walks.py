"""The PII walk (`lift.pii.visible` / `masked`, and the route masking built on it) and the log/audit
redactor fail closed on deep, cyclic and shared structures: nothing is shown unwalked."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

import msgspec

from lift import App
from lift.observability.redaction import PII, default_redactor
from lift.pii import masked, visible
from lift.testing import TestClient

EMAIL = "ada@example.com"


class Person(msgspec.Struct):
    name: str
    email: Annotated[str, PII]


class Node(msgspec.Struct):
    person: Person
    child: Node | None = None


def _chain(depth: int) -> Node:
    node = Node(Person("n0", EMAIL))
    for i in range(1, depth):
        node = Node(Person(f"n{i}", EMAIL), node)
    return node


def test_a_pii_field_nested_deeper_than_the_walk_goes_is_never_shown() -> None:
    deep: Any = Person("Ada", EMAIL)
    for _ in range(60):
        deep = [{"level": deep}]
    for out in (visible(deep), masked(deep)):
        text = msgspec.json.encode(out)
        assert EMAIL.encode() not in text
        assert text.count(b"***") == 1  # the subtree too deep to walk, masked whole
    shallow = [{"level": Person("Ada", EMAIL)}]
    assert visible(shallow) == [{"level": {"name": "Ada", "email": "***"}}]


def test_a_route_returning_a_deep_tree_masks_every_level() -> None:
    app = App("tree")

    @app.get("/tree")
    def tree(ctx) -> Node:
        return _chain(50)

    response = TestClient(app).get("/tree")
    assert response.status_code == 200
    assert EMAIL not in response.text
    assert '"name":"n49"' in response.text and '"name":"n20"' in response.text  # the walked part is shown


def test_a_structure_holding_itself_is_masked_where_it_loops_and_can_be_encoded() -> None:
    loop: list[Any] = [Person("Ada", EMAIL)]
    loop.append(loop)
    out = visible(loop)
    assert out == [{"name": "Ada", "email": "***"}, "***"]
    assert EMAIL.encode() not in msgspec.json.encode(out)
    mapping: dict[str, Any] = {"p": Person("Bob", EMAIL)}
    mapping["self"] = mapping
    assert masked(mapping)["self"] == "***"
    assert masked(mapping)["p"].email == "***"


@dataclasses.dataclass(repr=False, eq=False)
class Pair:
    """Two references to the same child: reads of its fields are counted."""

    left: Any
    right: Any
    email: Annotated[str, PII] = EMAIL
    reads: list[int] = dataclasses.field(default_factory=lambda: [0])

    def __getattribute__(self, name: str) -> Any:
        if name in ("left", "right"):
            object.__getattribute__(self, "reads")[0] += 1
        return object.__getattribute__(self, name)


def test_shared_references_are_walked_once_not_once_per_path() -> None:
    """A DAG of 24 levels, each node referenced twice by its parent, has 2**24 paths: walked path by
    path, masking one response would take minutes. Each node's fields are read once."""
    nodes = [Pair(None, None)]
    for _ in range(23):
        nodes.append(Pair(nodes[-1], nodes[-1]))
    out = visible(nodes[-1])
    assert out["email"] == "***" and out["left"] is out["right"]
    assert all(n.reads[0] == 2 for n in nodes[1:])  # left and right read once each, by `visible`
    typed = masked(nodes[-1])  # (not encoded here: an encoder walks every path)
    assert all(n.reads[0] == 4 for n in nodes[1:])  # and once each by `masked`
    assert typed.email == "***" and typed.left is typed.right and typed.left.left.email == "***"


def test_the_log_and_audit_redactor_masks_what_is_too_deep_to_look_into() -> None:
    deep: Any = {"password": "hunter2", "card": "4111 1111 1111 1111", "n": 1}
    for _ in range(30):
        deep = {"x": [deep, 7, None]}
    text = msgspec.json.encode(default_redactor.redact(deep))
    assert b"hunter2" not in text and b"4111 1111" not in text
    shallow = default_redactor.redact({"x": {"password": "hunter2", "n": 1, "card": "4111 1111 1111 1111"}})
    assert shallow == {"x": {"password": "***", "n": 1, "card": "411111******1111"}}
