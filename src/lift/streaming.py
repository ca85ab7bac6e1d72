"""Streamed responses: `Response.stream`, `Response.sse` and `Response.ndjson`.

A handler returns a `StreamingResponse` around a sync or async iterable. How it reaches the
client depends on where the app runs:

- under ASGI (`app.asgi`, uvicorn) and the dev server, each chunk is sent as soon as the
  iterator yields it (chunked transfer), and a client that disconnects stops the iterator:
  an async generator gets `CancelledError` at its `await` and is closed, a sync generator is
  closed once its pending `next()` returns; either way its `finally` blocks run;
- on Lambda's buffered integrations (API Gateway, ALB, a function URL in BUFFERED mode) the
  chunks are collected into one body, and a stream that outgrows Lambda's 6 MB response
  limit is stopped and answered with a clear 500 (`response_too_large`), never a truncated
  body. For real streaming on Lambda, run `app.asgi` behind the Lambda Web Adapter with a
  function URL in RESPONSE_STREAM mode (docs/streaming.md).

Only apps that stream import this module.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from typing import Any

from lift import serialization
from lift.context import Response, is_text_content_type

__all__ = [
    "StreamingResponse",
    "ServerSentEvent",
    "collect",
    "ndjson_chunks",
    "sse_chunks",
    "stream_to_asgi",
    "passthrough",
]

_MISSING = object()


class ServerSentEvent:
    """One server-sent event with its optional `event` name, `id` and `retry` (ms).

    `data` may be a str (sent as is, one `data:` line per line) or any JSON-encodable value. An `id`
    or `event` holding a line break (or an `id` holding NUL, which EventSource ignores) and a `retry`
    that is not a non-negative int are a ValueError here, never an event the client reads otherwise.
    """

    __slots__ = ("data", "event", "id", "retry", "comment")

    def __init__(
        self,
        data: Any = None,
        *,
        event: str | None = None,
        id: str | None = None,
        retry: int | None = None,
        comment: str | None = None,
    ) -> None:
        if event is not None:
            event = _one_line("event", event)
        if id is not None:
            id = _one_line("id", id)
            if "\0" in id:
                raise ValueError(f"A server-sent event's id cannot hold NUL (EventSource ignores it): {id!r}")
        if retry is not None and (retry.__class__ is not int or retry < 0):
            raise ValueError(f"A server-sent event's retry is a non-negative int of milliseconds, not {retry!r}")
        self.data, self.event, self.id, self.retry, self.comment = data, event, id, retry, comment

    def encode(self) -> bytes:
        lines: list[str] = []
        if self.comment is not None:
            lines.extend(f": {line}" for line in _sse_lines(self.comment))
        if self.event is not None:
            lines.append(f"event: {self.event}")
        if self.id is not None:
            lines.append(f"id: {self.id}")
        if self.retry is not None:
            lines.append(f"retry: {self.retry}")
        if self.data is not None:
            data = self.data
            text = data if isinstance(data, str) else serialization.encode_json(data).decode("utf-8")
            lines.extend(f"data: {line}" for line in _sse_lines(text))
        return ("\n".join(lines) + "\n\n").encode("utf-8")


def _sse_lines(text: str) -> list[str]:
    """`text` cut at the only line ends SSE knows (CRLF, CR, LF): str.splitlines() also cuts at
    U+2028, NEL, form feed..., which the client would read back as newlines (breaking the JSON of
    a value holding one), and drops a final newline the client would otherwise get back."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _one_line(field: str, value: Any) -> str:
    """`value` as the text of SSE field `field` (an int id is its digits); a line break in it would
    end the field there, so it is refused."""
    text = str(value)
    if "\n" in text or "\r" in text:
        raise ValueError(f"A server-sent event's {field} cannot hold a line break: {text!r}")
    return text


class StreamingResponse(Response):
    """A response whose body is produced by an iterator of chunks (bytes or str).

    `body` stays empty until a buffered integration collects the chunks (`collect`).
    """

    __slots__ = ("chunks", "request_id", "on_error")

    def __init__(
        self,
        chunks: Iterable[Any] | AsyncIterable[Any],
        status: int = 200,
        headers: dict[str, str] | None = None,
        content_type: str = "application/octet-stream",
    ) -> None:
        super().__init__(None, status, headers, content_type)
        self.chunks = chunks
        self.request_id: str | None = None  # set when handed to a server that streams it (logs)
        # set with it: the app's error contract (App.error_response) for a failure before the first chunk
        self.on_error: Callable[[BaseException], Response] | None = None

    @property
    def is_async(self) -> bool:
        return hasattr(self.chunks, "__aiter__")

    def __repr__(self) -> str:
        return f"<StreamingResponse {self.status} {self.content_type}>"


def _as_bytes(chunk: Any) -> bytes:
    if isinstance(chunk, bytes):
        return chunk
    if isinstance(chunk, str):
        return chunk.encode("utf-8")
    if isinstance(chunk, bytearray | memoryview):
        return bytes(chunk)
    raise TypeError(f"a streamed chunk must be bytes or str, not {type(chunk).__name__}")


def ndjson_chunks(items: Iterable[Any] | AsyncIterable[Any]) -> Iterator[bytes] | AsyncIterator[bytes]:
    """Each item as one JSON line."""
    encode = serialization.encode_json
    if hasattr(items, "__aiter__"):

        async def async_lines() -> AsyncIterator[bytes]:
            async for item in items:  # type: ignore[union-attr]
                yield encode(item) + b"\n"

        return _closing_async(async_lines(), items)

    def lines() -> Iterator[bytes]:
        for item in items:  # type: ignore[union-attr]
            yield encode(item) + b"\n"

    return _closing_sync(lines(), items)


def sse_chunks(events: Iterable[Any] | AsyncIterable[Any]) -> Iterator[bytes] | AsyncIterator[bytes]:
    """Each event as a server-sent event (`ServerSentEvent`, or any value sent as its `data`)."""

    def encode(event: Any) -> bytes:
        return (event if isinstance(event, ServerSentEvent) else ServerSentEvent(event)).encode()

    if hasattr(events, "__aiter__"):

        async def async_events() -> AsyncIterator[bytes]:
            async for event in events:  # type: ignore[union-attr]
                yield encode(event)

        return _closing_async(async_events(), events)

    def sync_events() -> Iterator[bytes]:
        for event in events:  # type: ignore[union-attr]
            yield encode(event)

    return _closing_sync(sync_events(), events)


def _closing_sync(wrapper: Iterator[bytes], source: Any) -> Iterator[bytes]:
    """`wrapper`, closing the user's generator too when the wrapper is closed early."""

    def run() -> Iterator[bytes]:
        try:
            yield from wrapper
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    return run()


def _closing_async(wrapper: AsyncIterator[bytes], source: Any) -> AsyncIterator[bytes]:
    async def run() -> AsyncIterator[bytes]:
        try:
            async for chunk in wrapper:
                yield chunk
        finally:
            await wrapper.aclose()  # type: ignore[attr-defined]
            aclose = getattr(source, "aclose", None)
            if aclose is not None:
                await aclose()

    return run()


# -- buffered integrations (API Gateway, ALB): collect with a size and a time guard -------------
class _Overflow(Exception):
    def __init__(self, code: str, size: int) -> None:
        self.code, self.size = code, size


def collect(
    response: StreamingResponse, limit: int, request_id: str | None = None, seconds: float | None = None
) -> Response:
    """The stream gathered into one body, or a clear 500 instead of a truncated body.

    `limit` counts what Lambda returns (base64 text for binary content types): past it the
    answer is `response_too_large`. `seconds` is the time left before the function's timeout:
    a stream still running near it (an endless SSE feed) is `stream_timeout`. Either way the
    iterator is closed at once, so its cleanup runs and the rest is never produced.
    """
    text = is_text_content_type(response.content_type)
    raw_limit = limit if text else limit * 3 // 4
    deadline = None if seconds is None else time.monotonic() + max(0.05, seconds - min(1.0, seconds / 5))
    try:
        if response.is_async:
            from lift.app import run_async

            body = run_async(_collect_async(response.chunks, raw_limit, deadline))  # type: ignore[arg-type]
        else:
            body = _collect_sync(response.chunks, raw_limit, deadline)  # type: ignore[arg-type]
    except _Overflow as over:
        return _overflow_response(over, text, limit, request_id)
    out = Response(None, response.status, response.headers, cookies=response.cookies)
    out.body = body
    return out


def _overflow_response(over: _Overflow, text: bool, limit: int, request_id: str | None) -> Response:
    from lift.errors import LiftError, lift_logger
    from lift.sources.http import too_large_response

    if over.code == "response_too_large":
        resp, _ = too_large_response(over.size if text else over.size * 4 // 3, request_id, limit)
        return resp
    lift_logger().error(
        "Streamed response still running near the function's timeout after %d bytes (request_id=%s)",
        over.size,
        request_id,
        extra={"request_id": request_id},
    )
    err = LiftError(500, "stream_timeout", "The streamed response did not finish before the function's timeout")
    return Response.json(err.to_dict(request_id), status=500)


def _collect_sync(
    chunks: Iterable[Any], limit: int, deadline: float | None, stop: threading.Event | None = None, at: Any = None
) -> bytes:
    if deadline is not None and stop is None:
        return _collect_sync_until(chunks, limit, deadline)
    parts: list[bytes] = []
    size = 0
    iterator = iter(chunks)
    try:
        for chunk in iterator:
            data = _as_bytes(chunk)
            size += len(data)
            if size > limit:
                raise _Overflow("response_too_large", size)
            if deadline is not None and (time.monotonic() > deadline or stop.is_set()):  # type: ignore[union-attr]
                raise _Overflow("stream_timeout", size)
            parts.append(data)
            if at is not None:
                at[0] = size
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()
    return b"".join(parts)


def _collect_sync_until(chunks: Iterable[Any], limit: int, deadline: float) -> bytes:
    """`_collect_sync` with a deadline that also holds while the generator blocks (an SSE feed
    waiting for its next event): the loop runs on a thread of its own (with the request's context
    variables), and the wait for it ends at the deadline. A generator still in its `next()` then is
    closed by that thread as soon as `next()` returns."""
    import contextvars

    outcome: list[Any] = []
    stop = threading.Event()
    at = [0]  # bytes collected so far (for the log line of a generator stopped while blocked)

    def run() -> None:
        try:
            outcome.append(_collect_sync(chunks, limit, deadline, stop, at))
        except BaseException as exc:
            outcome.append(_Failed(exc))

    thread = threading.Thread(target=contextvars.copy_context().run, args=(run,), name="lift-stream", daemon=True)
    thread.start()
    thread.join(max(0.0, deadline - time.monotonic()))
    if not outcome:  # blocked in its next() at the deadline
        stop.set()
        raise _Overflow("stream_timeout", at[0])
    result = outcome[0]
    if isinstance(result, _Failed):
        raise result.exc
    return result  # type: ignore[no-any-return]


async def _collect_async(chunks: AsyncIterable[Any], limit: int, deadline: float | None) -> bytes:
    parts: list[bytes] = []
    size = 0
    iterator = chunks.__aiter__()
    try:
        while True:
            try:
                if deadline is None:
                    chunk = await iterator.__anext__()
                else:
                    chunk = await asyncio.wait_for(iterator.__anext__(), max(0.0, deadline - time.monotonic()))
            except StopAsyncIteration:
                break
            except TimeoutError:
                raise _Overflow("stream_timeout", size) from None
            data = _as_bytes(chunk)
            size += len(data)
            if size > limit:
                raise _Overflow("response_too_large", size)
            parts.append(data)
    finally:
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()
    return b"".join(parts)


def close_stream(response: StreamingResponse) -> None:
    """Close a stream nobody will read (a HEAD request): its generator's cleanup runs."""
    chunks = response.chunks
    if response.is_async:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            from lift.app import run_async

            run_async(aclose())
    else:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


# -- the dev server: hand a stream to the server instead of collecting it ---------------------
_local = threading.local()


class passthrough:
    """While active on this thread, `app.handler` hands a streamed response to `sink` and
    returns the rest of the response with an empty body (the dev server streams it itself)."""

    def __init__(self, sink: Callable[[StreamingResponse], None]) -> None:
        self.sink = sink

    def __enter__(self) -> passthrough:
        _local.sink = self.sink
        return self

    def __exit__(self, *exc: Any) -> None:
        _local.sink = None


def finish_for_lambda(
    response: Response,
    request_method: str,
    limit: int,
    request_id: str | None,
    seconds: float | None = None,
    on_error: Callable[[BaseException], Response] | None = None,
) -> Response:
    """What a buffered Lambda integration sends for a streamed response (`on_error`: the app's error
    contract, for the server a stream is handed to)."""
    if not isinstance(response, StreamingResponse):
        return response
    sink = getattr(_local, "sink", None)
    if sink is not None and request_method != "HEAD":
        response.request_id = request_id  # for the server's log line if the stream fails
        response.on_error = on_error  # (a failure before the first chunk: answered as on Lambda)
        sink(response)
        headers = dict(response.headers)
        headers["X-Lift-Streamed"] = "1"
        out = Response(None, response.status, headers, cookies=response.cookies)
        return out
    if request_method == "HEAD":
        close_stream(response)
        return Response(None, response.status, response.headers, cookies=response.cookies)
    return collect(response, limit, request_id, seconds)


# -- ASGI: chunk by chunk, stopped by a client disconnect ------------------------------------
_pool: Any = None
_pool_lock = threading.Lock()


def _default_pool() -> Any:
    global _pool
    with _pool_lock:
        if _pool is None:
            from concurrent.futures import ThreadPoolExecutor

            _pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="lift-stream")
        return _pool


OPEN_WITHIN = 0.05  # seconds a stream's status and headers wait for its first chunk (see stream_to_asgi)


async def stream_to_asgi(
    send: Callable[[dict[str, Any]], Any],
    receive: Callable[[], Any],
    response: StreamingResponse,
    executor: Any = None,
    head_only: bool = False,
    request_id: str | None = None,
    on_error: Callable[[BaseException], Response] | None = None,
) -> bool:
    """Send `response` chunk by chunk; True when it completed, False when the client left.

    The status and headers go out with the first chunk, or `OPEN_WITHIN` seconds after the
    stream started when the first chunk is not ready by then (an SSE feed waiting for its first
    event opens at once): a stream that fails before its first chunk is answered with `on_error`'s
    response (the app's error contract; by default its 500), as a buffered Lambda source answers
    it, never with a 200 and a broken body. Headers are sent as `lift.asgi.send_response` sends
    them (`UnsendableHeader`, raised before the stream starts, for a line break or NUL).

    A task watches `receive()` for `http.disconnect` and cancels the streaming task, so an
    async generator waiting between items is stopped at once. Sync iterators run their
    `next()` on `executor`'s threads, never on the event loop.
    """
    from lift.asgi import response_headers

    executor = executor or _default_pool()
    request_id = request_id or response.request_id
    on_error = on_error or response.on_error
    try:
        start = {"type": "http.response.start", "status": response.status, "headers": response_headers(response)}
    except Exception:
        await _close(response, executor)
        raise
    if head_only:
        await _close(response, executor)
        await send(start)
        await send({"type": "http.response.body", "body": b""})
        return True

    head = _Head(send, start)
    streaming = asyncio.ensure_future(_pump(head, response, executor))
    disconnected = False

    async def watch_disconnect() -> None:
        nonlocal disconnected
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                disconnected = True
                streaming.cancel()
                return

    async def open_soon() -> None:
        await asyncio.sleep(OPEN_WITHIN)
        try:
            await head.open()
        except _ClientGone:  # (the watcher sees the disconnect and stops the stream)
            pass

    watcher = asyncio.ensure_future(watch_disconnect())
    opener = asyncio.ensure_future(open_soon())
    try:
        await streaming
        return True
    except asyncio.CancelledError:
        if disconnected:
            return False
        # The server cancelled the response (its shutdown ran out of grace; the generator was closed with
        # it): one warning, not the 'Exception in ASGI application' traceback per open stream.
        await _cut_short(send, head, response, request_id)
        return False
    except _ClientGone:  # the server refused a send (uvicorn's ClientDisconnected is an OSError)
        return False
    except Exception as exc:  # the generator's own failure (an OSError of its own included)
        from lift.errors import lift_logger

        if not head.started:  # nothing sent yet: the error contract's answer, with its own status
            opener.cancel()
            from lift.asgi import send_response

            await send_response(send, (on_error or _failed_before_first_chunk(request_id))(exc))
            return False
        # the headers are gone: the only honest signal left is to end the response unfinished
        # (the client sees a broken chunked body, never a complete-looking truncated one)
        lift_logger().exception(
            "Streamed response failed after its headers were sent (request_id=%s)",
            request_id,
            extra={"request_id": request_id},
        )
        return False
    finally:
        watcher.cancel()
        opener.cancel()
        if not streaming.done():
            streaming.cancel()


async def _cut_short(
    send: Callable[[dict[str, Any]], Any], head: _Head, response: StreamingResponse, request_id: str | None
) -> None:
    """End a stream the server stopped: an SSE feed ends as a feed does (the client's EventSource
    reconnects, to another instance); any other stream is left unfinished, so its client sees a broken
    transfer, never a body that looks complete; nothing sent yet is a 503."""
    from lift.errors import lift_logger

    lift_logger().warning(
        "Streamed response stopped by the server's shutdown (request_id=%s)",
        request_id,
        extra={"request_id": request_id},
    )
    try:
        if not head.started:
            from lift.asgi import send_response

            await send_response(send, Response.json({"message": "Service Unavailable"}, status=503))
        elif (response.content_type or "").startswith("text/event-stream"):
            await head.body(b"", more=False)
    except Exception:  # (the client is gone as well: nothing left to tell it)
        pass


class _Head:
    """A stream's `http.response.start`, sent once: before its first chunk, or by the opener."""

    __slots__ = ("send", "start", "started", "sent")

    def __init__(self, send: Callable[[dict[str, Any]], Any], start: dict[str, Any]) -> None:
        self.send, self.start, self.started = send, start, False
        self.sent: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def open(self) -> None:
        if self.started:
            await self.sent  # (the opener is sending it: a chunk waits for it)
            return
        self.started = True
        try:
            await self.send(self.start)
        except OSError as exc:
            raise _ClientGone from exc
        finally:
            self.sent.set_result(None)

    async def body(self, data: bytes, more: bool = True) -> None:
        if not self.started or not self.sent.done():
            await self.open()
        try:
            await self.send({"type": "http.response.body", "body": data, "more_body": more})
        except OSError as exc:
            raise _ClientGone from exc


class _ClientGone(Exception):
    """The server refused a send: the client has left (told apart from a generator's own OSError)."""


def _failed_before_first_chunk(request_id: str | None) -> Callable[[BaseException], Response]:
    """The error contract's answer for a stream that failed before its first chunk (the dev server's:
    the app's handler has returned), as `App.error_response` writes it without a custom handler."""

    def answer(exc: BaseException) -> Response:
        from lift.errors import InternalError, find_lift_error, lift_logger

        err = find_lift_error(exc)
        if err is None:
            lift_logger().error(
                "Streamed response failed before its first chunk (request_id=%s)",
                request_id,
                exc_info=exc,
                extra={"request_id": request_id},
            )
            err = InternalError()
        return Response.json(err.to_dict(request_id), status=err.status)

    return answer


async def _close(response: StreamingResponse, executor: Any) -> None:
    """Close a stream that will not be read (HEAD, or headers that cannot be sent): its cleanup runs."""
    if response.is_async:
        aclose = getattr(response.chunks, "aclose", None)
        if aclose is not None:
            await aclose()
    else:
        await asyncio.get_running_loop().run_in_executor(executor, close_stream, response)


async def _pump(head: _Head, response: StreamingResponse, executor: Any) -> None:
    chunks = response.chunks
    if response.is_async:
        iterator = chunks.__aiter__()  # type: ignore[union-attr]
        try:
            async for chunk in iterator:
                data = _as_bytes(chunk)
                if data:
                    await head.body(data)
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await aclose()
    else:
        await _pump_sync(head, iter(chunks))  # type: ignore[arg-type]
    await head.body(b"", more=False)


_DONE = object()
_IN_FLIGHT = 32  # chunks a sync generator may run ahead of the client (backpressure)
_BATCH_BYTES = 64 * 1024  # chunks already waiting are sent together up to this size


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


async def _pump_sync(head: _Head, iterator: Iterator[Any]) -> None:
    """A sync generator, run on its own thread: each chunk is handed to the event loop as soon
    as it is produced (the loop sends whatever has arrived in one message), at most
    `_IN_FLIGHT` chunks ahead of the client. The thread also closes the generator (a generator
    is closed by the thread that runs it), on completion or once the client has left.

    One thread per stream rather than a pool hop per chunk (Starlette's way): the hop costs a
    round trip through the pool for every item, and a long stream must not hold a handler
    thread from the app's pool.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()
    slots = threading.Semaphore(_IN_FLIGHT)
    stop = threading.Event()

    def post(item: Any) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the loop is gone (server shutdown)
            stop.set()

    def produce() -> None:
        try:
            for chunk in iterator:
                data = _as_bytes(chunk)
                if not data:
                    continue
                while not slots.acquire(timeout=0.2):
                    if stop.is_set():
                        return
                if stop.is_set():
                    return
                post(data)
        except BaseException as exc:
            post(_Failed(exc))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:
                    from lift.errors import lift_logger

                    lift_logger().exception("closing a streamed response's generator failed")
            post(_DONE)

    threading.Thread(target=produce, name="lift-stream", daemon=True).start()
    try:
        while True:
            items = [await queue.get()]
            while not queue.empty():
                items.append(queue.get_nowait())
            done = False
            parts: list[bytes] = []
            size = 0
            for item in items:
                if item is _DONE:
                    done = True
                elif isinstance(item, _Failed):
                    if parts:  # what the generator yielded before failing reaches the client first
                        await head.body(b"".join(parts))
                    raise item.exc
                else:
                    slots.release()
                    if size and size + len(item) > _BATCH_BYTES:  # small chunks travel together
                        await head.body(b"".join(parts))
                        parts, size = [], 0
                    parts.append(item)
                    size += len(item)
            if parts:
                body = parts[0] if len(parts) == 1 else b"".join(parts)
                await head.body(body)
            if done:
                return
    finally:
        stop.set()
