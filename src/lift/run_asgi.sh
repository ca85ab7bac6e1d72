#!/bin/sh
# The handler of a Lift function behind a RESPONSE_STREAM function URL (see docs/streaming.md).
# The AWS Lambda Web Adapter (its layer, with AWS_LAMBDA_EXEC_WRAPPER=/opt/bootstrap) runs this
# script, waits until the port answers, then forwards each invocation to it and streams the answer:
# the App's ASGI side (LIFT_ASGI_APP, "module:app.asgi") under uvicorn, which the package must hold.
# `lift deploy` sets the handler (lift/run_asgi.sh) and the variables; this file is data, not code.
PYTHONPATH="${LAMBDA_TASK_ROOT:-.}:/opt/python${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONPATH
exec python -m uvicorn --host 127.0.0.1 --port "${AWS_LWA_PORT:-${PORT:-8080}}" --no-access-log \
  --timeout-graceful-shutdown 1 "$LIFT_ASGI_APP"
