"""Built-in middleware. Each module holds one; import the one you use.

`from lift.middleware import request_id, recover, cors, security_headers` gives the
core four without importing the optional ones (auth, rate limiting, idempotency, ...).
"""

from lift.middleware.cors import cors
from lift.middleware.recover import recover
from lift.middleware.request_id import request_id
from lift.middleware.security_headers import security_headers

__all__ = ["cors", "recover", "request_id", "security_headers"]
