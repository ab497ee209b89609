"""Every patch the sandbox makes to moto, botocore, urllib3 and the standard library, in one registry.

A patch replaces one attribute of one module or class. ``install()`` (called by ``sandbox.start()``) applies every
registered patch and remembers what was there, exactly as it was found (a staticmethod stays a staticmethod, an
attribute that was absent is deleted again); ``remove()`` (called by ``sandbox.stop()``) puts all of it back, so a
process that stops its sandbox runs the libraries it imported, untouched.

Owners are named as ``"module:Class"`` (or ``"module:"`` for the module itself) and imported only when the patches
are installed, so that ``import grader`` stays light: moto's EC2 models alone take a second to import.
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable

__all__ = ["Patch", "register", "install", "remove", "installed", "registered"]

_ABSENT = object()


@dataclass(frozen=True)
class Patch:
    """Replace ``owner.name`` with ``make(original)``; ``why`` says what AWS does that the library does not."""

    owner: str
    name: str
    make: Callable[[Any], Any]
    why: str

    def target(self) -> Any:
        module_name, _, class_path = self.owner.partition(":")
        target = importlib.import_module(module_name)
        for part in filter(None, class_path.split(".")):
            target = getattr(target, part)
        return target


_registry: list[Patch] = []
_saved: list[tuple[Any, str, Any]] = []
_lock = threading.RLock()


def register(owner: str, name: str, make: Callable[[Any], Any], why: str) -> Patch:
    """Add a patch to the registry (once); it takes effect at the next ``install()``, or now if installed."""
    patch = Patch(owner, name, make, why)
    with _lock:
        # Two patches may wrap one attribute (the network guard and the link-local endpoints both wrap
        # socket.create_connection): they apply in the order registered and come off in the reverse order.
        if patch in _registry:
            return patch
        _registry.append(patch)
        if _saved:
            _apply(patch)
    return patch


def register_all(patches: Iterable[tuple]) -> None:
    for owner, name, make, why in patches:
        register(owner, name, make, why)


def _apply(patch: Patch) -> None:
    target = patch.target()
    # What the owner itself holds (not what it inherits or binds), so that remove() restores exactly that.
    original = vars(target).get(patch.name, _ABSENT)
    current = getattr(target, patch.name, None) if original is _ABSENT else original
    setattr(target, patch.name, patch.make(current))
    _saved.append((target, patch.name, original))


def install() -> None:
    """Apply every registered patch (nothing happens if they are already in place)."""
    with _lock:
        if _saved:
            return
        try:
            for patch in _registry:
                _apply(patch)
        except BaseException:
            remove()
            raise


def remove() -> None:
    """Put back every attribute a patch replaced, newest first, exactly as it was."""
    with _lock:
        while _saved:
            target, name, original = _saved.pop()
            if original is _ABSENT:
                if name in vars(target):
                    delattr(target, name)
            else:
                setattr(target, name, original)


def installed() -> bool:
    return bool(_saved)


def registered() -> list[Patch]:
    return list(_registry)


def originals() -> list[tuple[Any, str, Any]]:
    """(owner, name, original) of each patch in place: what ``remove()`` will put back."""
    with _lock:
        return list(_saved)
