"""The streaming function's handler, `lift/run_asgi.sh`, run the way the AWS Lambda Web Adapter
runs it (LAMBDA_TASK_ROOT, AWS_LWA_PORT, LIFT_ASGI_APP from the deploy model, from another
directory): it serves the App's ASGI side and streams; `lift package` keeps it executable."""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
import zipfile
from pathlib import Path

import httpx

from tests.servers import UVICORN_LISTENING, ServerProcess
from tests.streaming.test_streaming import HERE, ROOT, _wait_http

SCRIPT = ROOT / "src" / "lift" / "run_asgi.sh"


def test_the_handler_script_serves_the_app_and_streams(tmp_path: Path) -> None:
    task = tmp_path / "task"  # what Lambda unpacks the zip to
    task.mkdir()
    shutil.copy(HERE / "stream_app.py", task / "stream_app.py")
    env = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "LAMBDA_TASK_ROOT": str(task),
        "AWS_LWA_PORT": "0",  # any free port: the script's uvicorn says which it took
        "LIFT_ASGI_APP": "stream_app:app.asgi",  # what the model sets: "<module>:<attr>.asgi"
        "STREAM_MARKS": str(tmp_path / "marks.txt"),
    }
    with ServerProcess(
        ["/bin/sh", str(SCRIPT)], UVICORN_LISTENING, log=tmp_path / "log", cwd=tmp_path, env=env
    ) as server:
        base = server.url
        _wait_http(base + "/ndjson?n=1", server)
        with httpx.stream("GET", f"{base}/ndjson?n=4", timeout=10) as resp:
            assert resp.status_code == 200 and "content-length" not in resp.headers  # chunked
            assert [json.loads(line)["i"] for line in resp.iter_lines() if line] == [0, 1, 2, 3]
        with httpx.stream("GET", f"{base}/forever/sse?tag=adapter", timeout=10) as resp:
            events = []
            for line in resp.iter_lines():  # an endless stream: its first events arrive
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
                if len(events) == 2:
                    break
        assert events == [{"tick": 0}, {"tick": 1}]


def test_the_package_holds_the_handler_script_as_an_executable(tmp_path: Path) -> None:
    from lift.deploy.package import build_package

    (tmp_path / "app.py").write_text("from lift import App\n\napp = App(name='x')\n")
    result = build_package(tmp_path, tmp_path / "package.zip", app_ref="app:app", requirements=[], compile=False)
    with zipfile.ZipFile(result.path) as zf:
        info = zf.getinfo("lift/run_asgi.sh")
        assert stat.S_IMODE(info.external_attr >> 16) == 0o755
        assert zf.read("lift/run_asgi.sh") == SCRIPT.read_bytes()
