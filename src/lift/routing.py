"""Path templates and route lookup.

Templates are compiled into a segment tree at registration. Lookup tries, at each
segment, the static child first, then the `{param}` child, then a greedy `{name+}` tail,
backtracking cleanly (a failed branch leaves no parameter values behind). Fully static
paths are found with one dict lookup. Trailing slashes are ignored: `/users/` is `/users`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

__all__ = [
    "PathEntry",
    "Router",
    "RouteConflict",
    "canonical_path",
    "has_dot_segment",
    "normalize_path",
    "parse_template",
]


if TYPE_CHECKING:
    from lift.route_conflict import RouteConflict
else:

    def __getattr__(name: str) -> Any:
        if name == "RouteConflict":  # (made on first use: lift.route_conflict)
            return _conflict_class()
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _conflict_class() -> type[RouteConflict]:
    from lift.route_conflict import RouteConflict

    return RouteConflict


def normalize_path(path: str) -> str:
    """The one documented trailing-slash rule: strip it (except for the root)."""
    if not path:
        return "/"
    if path[0] != "/":
        path = "/" + path
    if len(path) > 1 and path[-1] == "/":
        path = path.rstrip("/") or "/"
    return path


def has_dot_segment(path: str) -> bool:
    """Whether `path` has a `.` or `..` segment (a path traversal waiting in a parameter), also
    percent-encoded (`%2e%2e`, `.%2E`, `..%2f`, and escapes of escapes such as `%252e`, decoded
    up to four times) and with `\\` taken as a separator too. Callers test `"." in path or "%"
    in path` first: a path with neither has none."""
    for _ in range(4):
        for segment in path.replace("\\", "/").split("/"):
            if segment == "." or segment == "..":
                return True
        if "%" not in path:
            return False
        from urllib.parse import unquote

        decoded = unquote(path)
        if decoded == path:
            return False
        path = decoded
    return False


def parse_template(template: str) -> list[tuple[str, str]]:
    """Split a template into (kind, value) segments: kind is "static", "param" or "greedy"."""
    return _segments(normalize_path(template), template)


def _segments(path: str, template: str) -> list[tuple[str, str]]:
    """parse_template of `template`, normalized as `path`."""
    segments: list[tuple[str, str]] = []
    parts = path.strip("/").split("/") if template.strip("/") else []
    for i, part in enumerate(parts):
        if "{" not in part and "}" not in part and part and part[0] != ".":  # (the commonest segment, told apart first)
            segments.append(("static", part))
        elif part[:1] == "{" and part[-1:] == "}":
            name = part[1:-1]
            if name[-1:] == "+":
                if i != len(parts) - 1:
                    raise ValueError(f"Greedy parameter {part} must be the last segment of {template!r}")
                segments.append(("greedy", name[:-1]))
            else:
                segments.append(("param", name))
            if ":" in segments[-1][1]:  # `{order_id:int}`, as other frameworks write it
                name, _, kind = segments[-1][1].partition(":")
                raise ValueError(
                    f"Path parameter {part} in {template!r}: write {{{name}}} and annotate the handler's "
                    f"parameter ({name}: {kind}); Lift takes a parameter's type from the handler's annotation"
                )
            if not segments[-1][1].isidentifier():
                raise ValueError(f"Path parameter {part} in {template!r} is not a valid identifier")
        elif "{" in part or "}" in part:
            raise ValueError(f"Path segment {part!r} in {template!r} mixes text and a parameter")
        else:
            if not part:
                raise ValueError(f"Empty segment in path template {template!r}")
            if part[0] == "." and (part == "." or part == ".."):
                raise ValueError(f"Path template {template!r} has a {part!r} segment (requests with one are refused)")
            segments.append(("static", part))
    return segments


class PathEntry:
    """One path template and the endpoints registered for it, by method."""

    __slots__ = ("template", "param_names", "methods", "allow")

    def __init__(self, template: str, param_names: Sequence[str]) -> None:
        self.template = template
        self.param_names = tuple(param_names)  # (a tuple of str: left alone by the garbage collector)
        self.methods: dict[str, Any] = {}
        self.allow = ""

    def add(self, method: str, endpoint: Any) -> None:
        if method in self.methods:
            other = self.methods[method]
            raise _conflict_class()(
                f"Duplicate route {method} {self.template}: {_describe(endpoint)} conflicts with {_describe(other)}"
            )
        self.methods[method] = endpoint
        # `allow`: every method the path answers, sorted: its own, HEAD beside GET (served by it) and
        # OPTIONS (a 204 with `Allow` when no route answers it: App's 405 handler)
        if len(self.methods) == 1:  # the commonest entry: what the general case below gives, without its set
            if method == "GET":
                self.allow = "GET, HEAD, OPTIONS"
            elif method == "OPTIONS":
                self.allow = method
            else:
                self.allow = method + ", OPTIONS" if method < "OPTIONS" else "OPTIONS, " + method
            return
        methods = {*self.methods, "OPTIONS"}
        if "GET" in methods:
            methods.add("HEAD")
        self.allow = ", ".join(sorted(methods))


def _describe(endpoint: Any) -> str:
    fn = getattr(endpoint, "fn", endpoint)
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


# what a static template segment may hold that clients send as it is (RFC 3986's unreserved characters
# and sub-delims, ":" and "@"; "/" between segments): any other character reaches a Lambda source
# percent-encoded (`/café` arrives as `/caf%C3%A9`), so such a segment is also registered as `encoded_forms` spell it
WIRE_SAFE = "/!$&'()*+,;=:@"


# what every client sends as it is: RFC 3986's unreserved characters and WIRE_SAFE (and the braces of a
# parameter); any other character a template may hold, some client percent-encodes. Browsers send `|`,
# `[`, `]` and `^` as they are and encode `<`, `>`, `"` and a space; HTTP libraries (requests, httpx,
# curl's --path-as-is aside) encode more: a route holding one is found under every spelling
# (`Router.lookup`). (A set: the equivalent regex, compiled at import, cost every cold start 0.3M instructions)
_SENT_AS_IS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/{}")
SEGMENT_SAFE = WIRE_SAFE[1:]  # (the same, "/" aside: a "/" inside a segment is `%2F`)


def is_encoded_by_clients(text: str) -> bool:
    """Whether some client sends `text` (a template, or its static text) percent-encoded: beyond
    ASCII, or any ASCII character neither unreserved nor in WIRE_SAFE (`%`, a space, `"<>[]^|\\``)."""
    return not _SENT_AS_IS.issuperset(text)


def canonical_path(path: str) -> str:
    """`path` (as sent, percent-encoded) spelled the one way `encoded_forms` registers static text
    first: each segment decoded once and encoded again (UTF-8, hex in upper case, WIRE_SAFE kept, a
    `%2F` still `%2F`), so `/caf%c3%A9`, `/a|b[1]`, `/a%7cb%5B1%5d` and `/%61|b%5B1]` each read as
    one spelling, and a parameter decodes to the same text (`%2541` stays `%2541`)."""
    from urllib.parse import quote_from_bytes, unquote_to_bytes

    return "/".join(
        quote_from_bytes(unquote_to_bytes(segment), SEGMENT_SAFE) if segment else segment for segment in path.split("/")
    )


def encoded_forms(text: str) -> tuple[str, ...]:
    """How a client sends the static text `text` of a template on the wire: UTF-8 percent-encoded,
    its hex digits in upper case (RFC 3986's advice, what browsers and HTTP libraries send) and in
    lower case: `café` -> (`caf%C3%A9`, `caf%c3%a9`). API Gateway, ALB, function URLs and VPC Lattice
    pass the path as the client sent it, still encoded: the router finds the route under either."""
    from urllib.parse import quote

    upper = quote(text, safe=WIRE_SAFE)
    head, *escapes = upper.split("%")
    lower = head + "".join("%" + part[:2].lower() + part[2:] for part in escapes)
    return (upper,) if lower == upper else (upper, lower)


_NO_CHILDREN: dict[str, Any] = {}  # shared by every node without static children: never written to


class _Node:
    __slots__ = ("static", "param", "param_name", "greedy", "greedy_name", "entry", "owner")

    def __init__(self) -> None:
        self.static: dict[str, _Node] = _NO_CHILDREN  # a node's own dict once it has a static child
        self.param: _Node | None = None
        self.param_name: str | None = None
        self.greedy: PathEntry | None = None
        self.greedy_name: str | None = None
        self.entry: PathEntry | None = None
        self.owner: str | None = None  # template that introduced the param/greedy child


_new = object.__new__


def _node() -> _Node:
    """`_Node()` without the call of `__init__` (a node per template segment: registration time)."""
    node: _Node = _new(_Node)
    node.static, node.param, node.param_name, node.greedy = _NO_CHILDREN, None, None, None
    node.greedy_name = node.entry = node.owner = None
    return node


def _entry(template: str, names: list[str]) -> PathEntry:
    """`PathEntry(template, names)` without the call of `__init__`."""
    entry: PathEntry = _new(PathEntry)
    entry.template, entry.param_names, entry.methods, entry.allow = template, tuple(names), {}, ""
    return entry


class Router:
    """Registers path templates and finds the entry (and parameters) for a path."""

    def __init__(self) -> None:
        self._root = _Node()
        self._static: dict[str, PathEntry] = {}
        # "/a/b" -> the entry of "/a/b/{x}": static templates ending in one parameter, the
        # commonest REST shape, found with one dict lookup on the parent path.
        self._param_tail: dict[str, PathEntry] = {}
        # True while every route is in `_static` or `_param_tail`: a path (starting with "/", no
        # empty segment) that neither table has then matches no route at all
        self._tables_complete = True
        # True once a template holds text some client percent-encodes (`/café`, `/a|b`): a path with a
        # "%" that no table holds may be such a route spelled another way (`lookup` reads it as one)
        self.respelled = False
        self.entries: list[PathEntry] = []

    def needs_lookup(self, path: str) -> bool:
        """Whether a path (holding a "." or a "%") that the one-probe tables miss may still be refused
        (a dot segment: a 400) or found (a route clients encode, in another spelling than the two
        registered, such as mixed hex case across segments): a quick 404 must not answer it."""
        return has_dot_segment(path) or (self.respelled and "%" in path)

    def entry_for(self, template: str) -> PathEntry:
        """The entry for `template`, created on first use; ambiguous templates are refused."""
        # The segments written back are the normalized template itself (parse_template refuses
        # empty segments and keeps each `{name}`/`{name+}` as written): no need to rebuild it.
        # (normalize_path's answer for a template already normalized, as Group.route passes them, without the call)
        path = template if template[:1] == "/" and template[-1:] != "/" else normalize_path(template)
        stripped = path.strip("/")
        parts = stripped.split("/") if stripped else []
        # the commonest template, static segments and `{name}` parameters, checked here in one pass;
        # anything else (an empty, dot, greedy or malformed segment) read and checked by `_segments`
        plain = stripped and "//" not in stripped and "." not in stripped
        if plain and ("{" in stripped or "}" in stripped):
            for part in parts:
                if part[0] == "{":
                    if part[-1] != "}" or not part[1:-1].isidentifier():
                        plain = False
                        break
                elif "{" in part or "}" in part:
                    plain = False
                    break
        if not plain:
            _segments(path, template)  # (checks each segment: raises before the tree changes)
        encodes = not _SENT_AS_IS.issuperset(stripped)  # (is_encoded_by_clients)
        if encodes:
            self.respelled = True
        template = path
        node = self._root
        names: list[str] = []
        # Each part is now known to be static text, `{name}` or a last `{name+}`
        part = ""
        for part in parts:
            if part[0] != "{":
                static = node.static
                child = static.get(part)
                if child is None:  # (a node made only when missing: registration allocates less)
                    if static is _NO_CHILDREN:
                        static = node.static = {}
                    child = static[part] = _new(_Node)  # (`_node()` written out: one call less per segment)
                    child.static, child.param, child.param_name, child.greedy = _NO_CHILDREN, None, None, None
                    child.greedy_name = child.entry = child.owner = None
                    if encodes and is_encoded_by_clients(part):  # (`café`, `a b`: also as clients send it)
                        for spelling in encoded_forms(part):
                            static.setdefault(spelling, child)
                node = child
            elif part[-2] != "+":
                value = part[1:-1]
                if node.param is None:
                    node.param, node.param_name, node.owner = _node(), value, template
                elif node.param_name != value:
                    raise _conflict_class()(
                        f"Route {template} conflicts with {node.owner}: parameter {{{value}}} and "
                        f"{{{node.param_name}}} occupy the same position"
                    )
                names.append(value)
                node = node.param
            else:
                value = part[1:-2]
                names.append(value)
                if node.greedy is None:
                    node.greedy, node.greedy_name, node.owner = _entry(template, names), value, template
                    self.entries.append(node.greedy)
                    self._tables_complete = False
                elif node.greedy_name != value:
                    raise _conflict_class()(
                        f"Route {template} conflicts with {node.greedy.template}: greedy parameters "
                        f"{{{value}+}} and {{{node.greedy_name}+}} occupy the same position"
                    )
                return node.greedy
        if node.entry is None:
            entry = node.entry = _new(PathEntry)  # (`_entry(template, names)` written out)
            entry.template, entry.param_names, entry.methods, entry.allow = template, tuple(names), {}, ""
            self.entries.append(entry)
            if not names:
                self._static[template] = node.entry
                if encodes:
                    for spelling in encoded_forms(template):
                        self._static.setdefault(spelling, entry)
            elif len(names) == 1 and part[0] == "{":
                parent = template.rpartition("/")[0]
                self._param_tail[parent] = node.entry
                if encodes:
                    for spelling in encoded_forms(parent):
                        self._param_tail.setdefault(spelling, entry)
            else:
                self._tables_complete = False
        return node.entry

    def lookup(self, path: str) -> tuple[PathEntry | None, list[str]]:
        """The entry matching `path` and its parameter values (in template order). A path with a "%",
        when a template holds text clients encode, is read in its canonical spelling (`canonical_path`):
        clients spell such text in more ways than the two registered (hex case per escape, `|` or `%7C`),
        and a static segment must still win over a parameter whatever the spelling."""
        if self.respelled and "%" in path:
            path = canonical_path(path)
        if len(path) > 1 and path[-1] == "/":
            path = path.rstrip("/") or "/"
        entry = self._static.get(path)
        if entry is not None:
            return entry, []
        parent, _, last = path.rpartition("/")
        if last:
            entry = self._param_tail.get(parent)
            if entry is not None:
                return entry, [last]
        values: list[str] = []
        segments = path.strip("/").split("/") if path != "/" else []
        # Fast path: descend without backtracking (static first, then a parameter).
        node: _Node = self._root
        for segment in segments:
            child: _Node | None = node.static.get(segment)
            if child is None:
                child = node.param
                if child is None or not segment:
                    break
                values.append(segment)
            node = child
        else:
            if node.entry is not None:
                return node.entry, values
        values.clear()
        entry = _match(self._root, segments, 0, values)
        return entry, values


def _match(node: _Node, segments: list[str], i: int, values: list[str]) -> PathEntry | None:
    if i == len(segments):
        return node.entry
    segment = segments[i]
    child = node.static.get(segment)
    if child is not None:
        found = _match(child, segments, i + 1, values)
        if found is not None:
            return found
    if node.param is not None and segment:
        values.append(segment)
        found = _match(node.param, segments, i + 1, values)
        if found is not None:
            return found
        values.pop()
    if node.greedy is not None and segment:
        values.append("/".join(segments[i:]))
        return node.greedy
    return None
