"""`lift new` projects pass their own tests; `lift bench` measures the user's app."""

from __future__ import annotations

import importlib.util
import os
import shlex
import subprocess
import sys
import tomllib

import pytest


@pytest.mark.parametrize("template", ["api", "events", "websocket"])
def test_new_project_passes_its_own_tests(cli, tmp_path, template):
    result = cli("new", "demo", "--template", template, cwd=tmp_path)
    assert result.code == 0, result
    project = tmp_path / "demo"
    assert {"pyproject.toml", "README.md", "app.py", "tests"} <= {p.name for p in project.iterdir()}
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["dependencies"][0] == "lift-lambda"
    assert pyproject["tool"]["lift"]["app"] == "app:app"
    assert "lift dev" in (project / "README.md").read_text()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert " passed" in tests.stdout and "failed" not in tests.stdout
    routes = cli("routes", "--json", cwd=project)  # the CLI finds the new app through [tool.lift]
    assert routes.code == 0 and routes.json()
    if importlib.util.find_spec("awslambdaric") is not None:  # the README's runtime check works as written
        line = next(
            l for l in (project / "README.md").read_text().splitlines() if l.startswith("lift invoke --runtime")
        )
        args = shlex.split(line.split("   #")[0])[1:]
        runtime = cli(*args, cwd=project)
        assert runtime.code == 0, runtime


def test_bench_reports_cold_start_and_every_route(cli):
    result = cli("bench", "examples.users_api.app:app", "-n", "200", "--cold-runs", "2", "--json", timeout=300)
    assert result.code == 0, result
    report = result.json()
    cold = report["cold_start"]
    assert cold["runs"] == 2 and cold["route"] == "GET /"
    assert cold["process_ms"] > cold["import_ms"] > 0 and cold["first_invocation_ms"] > 0
    by_route = {(r["method"], r["path"]): r for r in report["routes"]}
    assert set(by_route) == {
        ("GET", "/"),
        ("GET", "/users"),
        ("POST", "/users"),
        ("GET", "/users/1"),
        ("PATCH", "/users/1"),
        ("DELETE", "/users/1"),
    }
    assert by_route[("GET", "/users")]["status"] == 200
    # bodies are sampled from the OpenAPI schema, so the typed route succeeds; repeats then conflict
    assert by_route[("POST", "/users")]["status"] == 201
    assert by_route[("POST", "/users")]["warm_status"] == 409
    assert by_route[("GET", "/users/1")]["status"] == 200  # the user the POST created
    assert by_route[("DELETE", "/users/1")]["status"] == 204
    assert by_route[("DELETE", "/users/1")]["warm_status"] == 404
    assert all(r["median_us"] > 0 and r["p99_us"] >= r["median_us"] for r in report["routes"])


def test_bench_table_and_method_filter(cli):
    result = cli("bench", "examples.users_api.app:app", "-n", "50", "--cold-runs", "1", "-m", "GET", timeout=300)
    assert result.code == 0, result
    assert "Cold start" in result.stdout and "/users/1" in result.stdout and "PATCH" not in result.stdout
    assert "404" in result.stdout  # GET /users/1 before any user exists
    none = cli("bench", "examples.users_api.app:app", "-m", "TRACE")
    assert none.code == 2 and "No HTTP routes" in none.stderr
