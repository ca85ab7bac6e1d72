"""The `lift` command (Typer + Rich; imported only by the CLI, never by a Lambda)."""

from __future__ import annotations

__all__ = ["main"]


def main() -> None:
    """Entry point of the `lift` console script and `python -m lift.cli`."""
    try:
        import rich  # noqa: F401
        import typer  # noqa: F401
    except ImportError as exc:
        import sys

        sys.stderr.write(
            f'The lift command needs the dev extra ({exc.name} is missing): pip install "lift-lambda[dev]"\n'
        )
        raise SystemExit(1) from None
    from lift.cli.root import command

    try:
        command()()
    except Exception as exc:
        failure = aws_failure(exc)
        if failure is None:  # (a Lift bug keeps its traceback)
            raise
        import sys

        sys.stderr.write(failure + "\n")
        raise SystemExit(1) from None


def aws_failure(exc: BaseException) -> str | None:
    """What to print for an error AWS gave, or the way to it (botocore's and boto3's exceptions: a
    refusal, no credentials, an endpoint that cannot be reached), in place of a traceback: the
    operation, AWS's code, message and request id. None for any other exception."""
    module = type(exc).__module__
    if not (module.startswith("botocore.") or module == "boto3.exceptions"):
        return None
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and isinstance(response.get("Error"), dict):
        error = response["Error"]
        request_id = (response.get("ResponseMetadata") or {}).get("RequestId")
        return (
            f"Error: AWS refused {getattr(exc, 'operation_name', None) or 'the call'}: "
            f"{error.get('Code') or type(exc).__name__}: {error.get('Message') or ''}".rstrip()
            + (f" (request id {request_id})" if request_id else "")
        )
    return (
        f"Error: the call to AWS failed: {type(exc).__name__}: {exc}\n"
        "(check the credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID), the region and --endpoint-url)"
    )
