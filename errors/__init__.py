"""One error taxonomy for multicart: stable codes, HTTP status hints, retryable flags.

Error tree (everything multicart raises on purpose is a ``MulticartError``)::

    MulticartError                       error / code / status / retryable / data
    ├── ApiError                         answered as the envelope {message, error, code, data}
    │   ├── InvalidRequest               400 invalid_request      (data.fields)
    │   ├── MalformedJson                400 malformed_json
    │   ├── InvalidSkus                  400 invalid_skus         (data.skus, data.fields)
    │   ├── Unauthorized                 401 unauthorized
    │   ├── NotFound                     404 <thing>_not_found
    │   ├── Conflict                     409 duplicate_cart / cart_busy / idempotency_key_in_use
    │   ├── PayloadTooLarge              413 payload_too_large
    │   ├── UnsupportedMediaType         415 unsupported_media_type
    │   ├── Overloaded                   503 overloaded           (data.reason; Retry-After)
    │   ├── ExternalCartCreationFailure  422 / 502 / 503  external_cart_creation_failure (2503)
    │   └── InternalError                500 internal_error       (data.request_id)
    └── PlatformError                    raised by adapters only; carries a normalized Cause
        ├── PlatformRejected             4xx / userErrors: the platform said no (no retry)
        ├── PlatformAuthFailed           401 / 403
        ├── PlatformNotFound             the external cart or line does not exist
        ├── PlatformConflict             409 (version mismatch, write conflict)
        ├── PlatformRateLimited          429 / THROTTLED, with retry_after seconds
        ├── PlatformUnavailable          nothing was sent (connect refused, circuit open)
        ├── PlatformAddressRefused       the host resolves to a private/metadata address (no retry)
        ├── PlatformServerError          5xx answer: outcome unknown for writes
        └── PlatformTimeout              no answer after sending: outcome unknown for writes

Adapters translate every foreign error (aiohttp's, JSON) into a ``PlatformError`` exactly once,
at their boundary; the orchestrator maps ``PlatformError`` into ``ApiError`` or order errors.
``errors.codes`` holds the published codes and the ``Cause`` vocabulary, ``errors.exceptions``
the classes above.
"""

from errors.codes import Cause, ErrorCode
from errors.exceptions import (
    MESSAGE_MAX,
    ApiError,
    Conflict,
    ExternalCartCreationFailure,
    FieldProblem,
    InternalError,
    InvalidRequest,
    InvalidSkus,
    MalformedJson,
    MulticartError,
    NotFound,
    Overloaded,
    PayloadTooLarge,
    PlatformAddressRefused,
    PlatformAuthFailed,
    PlatformConflict,
    PlatformError,
    PlatformNotFound,
    PlatformRateLimited,
    PlatformRejected,
    PlatformServerError,
    PlatformTimeout,
    PlatformUnavailable,
    SkuProblem,
    Unauthorized,
    UnsupportedMediaType,
    clip,
)

__all__ = [
    "MESSAGE_MAX",
    "ApiError",
    "Cause",
    "Conflict",
    "ErrorCode",
    "ExternalCartCreationFailure",
    "FieldProblem",
    "InternalError",
    "InvalidRequest",
    "InvalidSkus",
    "MalformedJson",
    "MulticartError",
    "NotFound",
    "Overloaded",
    "PayloadTooLarge",
    "PlatformAddressRefused",
    "PlatformAuthFailed",
    "PlatformConflict",
    "PlatformError",
    "PlatformNotFound",
    "PlatformRateLimited",
    "PlatformRejected",
    "PlatformServerError",
    "PlatformTimeout",
    "PlatformUnavailable",
    "SkuProblem",
    "Unauthorized",
    "UnsupportedMediaType",
    "clip",
]
