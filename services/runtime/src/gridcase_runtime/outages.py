"""Which errors mean "a backing service is unavailable, try again later", as opposed to
"this request or record is bad": consumers retry the first kind instead of dead-lettering,
and the HTTP APIs answer it with 503 and Retry-After instead of 500."""

import pymongo.errors
from kafka.errors import KafkaError

TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    pymongo.errors.AutoReconnect,
    pymongo.errors.ConnectionFailure,
    pymongo.errors.NetworkTimeout,
    pymongo.errors.ServerSelectionTimeoutError,
    pymongo.errors.WTimeoutError,
    KafkaError,
    TimeoutError,
    ConnectionError,
)
"""Errors that say 'try again later' whatever they carry."""

UNAVAILABLE_CODES = frozenset(
    {
        1,  # InternalError: the Mongo-wire server lost its PostgreSQL backend
        6,  # HostUnreachable
        7,  # HostNotFound
        89,  # NetworkTimeout
        91,  # ShutdownInProgress
        189,  # PrimarySteppedDown
        9001,  # SocketException
        10107,  # NotWritablePrimary
        11600,  # InterruptedAtShutdown
        11602,  # InterruptedDueToReplStateChange
        13435,  # NotPrimaryNoSecondaryOk
        13436,  # NotPrimaryOrSecondary
    }
)
"""Server error codes of a database that cannot serve anyone right now."""


def is_transient(error: BaseException) -> bool:
    """True when `error` says a backing service is unavailable, not that the work is bad."""
    if isinstance(error, pymongo.errors.OperationFailure):
        return error.code in UNAVAILABLE_CODES
    return isinstance(error, TRANSIENT_ERRORS)
