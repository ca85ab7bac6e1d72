"""Lift: a fast, typed framework for AWS Lambda services. Every trigger through one App."""

from lift.app import App
from lift.binding import Header
from lift.context import Context, Request, Response

__all__ = ["App", "Context", "Response", "Request", "Header"]
__version__ = "0.1.0"
