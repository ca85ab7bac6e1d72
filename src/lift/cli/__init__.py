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

    command()()
