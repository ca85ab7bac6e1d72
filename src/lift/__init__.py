"""Lift: a fast, typed framework for AWS Lambda services. Every trigger through one App."""

import os as _os

# In the Lambda runtime (AWS_LAMBDA_RUNTIME_API is set for the process that serves it), the objects
# made before and by `import lift` (the runtime's, the standard library's, msgspec's, Lift's modules)
# live as long as the process: `gc.freeze()` moves them out of the cycle collector's generations, so
# its full collections, during the app's init and every invocation after, no longer walk them all
# again (on the 52-route bench app, about 15M fewer instructions before the first response: more
# than a fifth of the init). Cycles among frozen objects are never collected; objects made after are
# collected as usual. LIFT_GC_FREEZE=0 turns it off. (Outside Lambda, e.g. tests and `lift dev`, no.)
_freeze = "AWS_LAMBDA_RUNTIME_API" in _os.environ and _os.environ.get("LIFT_GC_FREEZE") != "0"
if _freeze:
    import gc as _gc

    _gc.freeze()  # (before Lift's own imports: msgspec's, when the app did not import it first)

from lift.app import App  # noqa: E402 (after the freeze above)
from lift.binding import Header  # noqa: E402
from lift.context import Context, Request, Response  # noqa: E402

__all__ = ["App", "Context", "Response", "Request", "Header"]
__version__ = "0.1.0"

if _freeze:
    _gc.freeze()  # (Lift's modules too)
    del _gc
del _os, _freeze
