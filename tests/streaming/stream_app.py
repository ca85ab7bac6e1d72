"""The app the streaming tests serve (under uvicorn, the dev server and TestClient).

Cleanup of each generator is recorded in the file named by STREAM_MARKS, so a test in another
process can see that a disconnect ran the generator's `finally`.
"""

import asyncio
import os
import time

from lift import App, Context, Response
from lift.streaming import ServerSentEvent

app = App(name="streams")
MARKS = os.environ.get("STREAM_MARKS", "")
pulled: list[int] = []


def mark(text: str) -> None:
    if MARKS:
        with open(MARKS, "a") as f:
            f.write(text + "\n")


@app.get("/ndjson")
def ndjson(ctx: Context) -> Response:
    n = int(ctx.query.get("n", "3"))
    return Response.ndjson({"i": i, "pad": "x" * int(ctx.query.get("pad", "0"))} for i in range(n))


@app.get("/forever/sync")
def forever_sync(ctx: Context) -> Response:
    tag = ctx.query.get("tag", "sync")

    def lines():
        try:
            i = 0
            while True:
                pulled.append(i)
                yield f"line {i}\n"
                i += 1
                time.sleep(0.02)
        finally:
            mark(f"closed {tag}")

    return Response.stream(lines(), "text/plain; charset=utf-8")


@app.get("/forever/sse")
def forever_sse(ctx: Context) -> Response:
    tag = ctx.query.get("tag", "sse")

    async def ticks():
        try:
            i = 0
            while True:
                yield ServerSentEvent({"tick": i}, event="tick", id=str(i))
                i += 1
                await asyncio.sleep(0.05)
        finally:
            mark(f"closed {tag}")

    return Response.sse(ticks())


@app.get("/big")
def big(ctx: Context) -> Response:
    chunk = b"y" * (256 * 1024)

    def chunks():
        try:
            for i in range(int(ctx.query.get("n", "40"))):
                pulled.append(i)
                yield chunk
        finally:
            mark("closed big")

    return Response.stream(chunks(), ctx.query.get("type", "text/plain"))


@app.get("/async-ndjson")
async def async_ndjson(ctx: Context) -> Response:
    async def items():
        for i in range(3):
            await asyncio.sleep(0)
            yield {"i": i}

    return Response.ndjson(items())


@app.get("/broken")
def broken(ctx: Context) -> Response:
    def lines():
        yield "first line\n"
        raise RuntimeError("database went away")

    return Response.stream(lines(), "text/plain")


asgi = app.asgi
