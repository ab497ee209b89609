"""The sandbox clock: the machine's time plus however far the book has moved it, read by botocore too."""

from __future__ import annotations

import datetime as _dt
import threading
import types
from typing import Any, Callable

from grader import account
from grader.aws import patches


class Clock:
    """The sandbox's time: the machine's time plus however far the book has moved it forward.

    Temporary credentials expire on this clock, and botocore's own refresh logic reads it too (a patch in the
    registry points ``botocore.credentials._local_now`` at it), so moving it forward shows expiry and renewal as
    they happen on AWS.
    """

    def __init__(self) -> None:
        self._offset = _dt.timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> _dt.datetime:
        return _dt.datetime.now(_dt.timezone.utc) + self._offset

    def advance(self, *, seconds: float = 0, minutes: float = 0, hours: float = 0) -> _dt.datetime:
        step = _dt.timedelta(seconds=seconds, minutes=minutes, hours=hours)
        if step < _dt.timedelta(0):
            raise ValueError("The sandbox clock only moves forward: give a positive number of seconds, minutes or hours.")
        with self._lock:
            self._offset += step
        return self.now()

    def reset(self) -> None:
        with self._lock:
            self._offset = _dt.timedelta(0)

    @property
    def offset(self) -> _dt.timedelta:
        return self._offset


def _sandbox_now(original: Callable) -> Callable:
    """botocore's ``_local_now``, read from the running sandbox's clock (or botocore's own when none runs)."""

    def _local_now() -> _dt.datetime:
        sandbox = account.running()
        return sandbox.clock.now() if sandbox is not None else original()

    _local_now.__wrapped__ = original
    return _local_now


def _is_local_now(value: Any) -> bool:
    return (getattr(value, "__module__", None) == "botocore.credentials"
            and getattr(value, "__name__", "") == "_local_now")


def _refresh_clock_default(original: Callable) -> Callable:
    """A copy of ``original`` whose ``time_fetcher`` default is the sandbox's ``_local_now``.

    ``RefreshableCredentials.__init__`` takes ``time_fetcher=_local_now`` as a default argument, bound when botocore
    was imported, so replacing the module's ``_local_now`` alone does not reach credentials created later. The copy
    shares the original's code and closure; the registry puts the original back on ``stop()``.
    """
    import botocore.credentials as module

    defaults = tuple(module._local_now if _is_local_now(d) else d for d in original.__defaults__ or ())
    copy = types.FunctionType(original.__code__, original.__globals__, original.__name__, defaults,
                              original.__closure__)
    copy.__kwdefaults__ = original.__kwdefaults__
    copy.__dict__.update(original.__dict__)
    copy.__qualname__, copy.__doc__, copy.__wrapped__ = original.__qualname__, original.__doc__, original
    return copy


# The sandbox clock reaches botocore through _local_now, which its refresh logic calls at each use, and through the
# time_fetcher default of the two refreshable credential classes. _local_now comes first, so that the defaults
# pick up the sandbox's version.
patches.register("botocore.credentials:", "_local_now", _sandbox_now,
                 "temporary credentials expire and refresh on the sandbox clock, which the book moves forward")
for _owner in ("RefreshableCredentials", "DeferredRefreshableCredentials"):
    patches.register(f"botocore.credentials:{_owner}", "__init__", _refresh_clock_default,
                     "credentials made later read the sandbox clock too (time_fetcher is a bound default)")

