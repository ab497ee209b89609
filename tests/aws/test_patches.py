"""The sandbox's patches to moto, botocore, urllib3 and the standard library: one registry, undone by stop()."""

from __future__ import annotations

import pytest

from grader import sandbox
from grader.aws import patches


def _current_values() -> dict:
    return {(patch.owner, patch.name): vars(patch.target()).get(patch.name, "<absent>")
            for patch in patches.registered()}


def test_stop_puts_back_every_patched_attribute_as_it_was():
    import boto3

    sandbox.start().stop()  # imports every module that registers a patch
    earlier_session = boto3.DEFAULT_SESSION
    boto3.DEFAULT_SESSION = object()  # a default session made before the sandbox: it must not be used inside
    try:
        _every_patch_goes_with_the_sandbox()
    finally:
        boto3.DEFAULT_SESSION = earlier_session


def _every_patch_goes_with_the_sandbox():
    before = _current_values()
    assert len(before) >= 8
    box = sandbox.start()
    try:
        during = _current_values()
        changed = [key for key in before if during[key] is not before[key]]
        assert changed == list(before), "every registered patch is in place while the sandbox runs"
    finally:
        box.stop()
    after = _current_values()
    assert all(after[key] is before[key] for key in before)
    assert not patches.installed()


def test_the_registry_holds_the_transport_the_moto_corrections_and_the_front_door():
    sandbox.start().stop()
    names = {(patch.owner, patch.name) for patch in patches.registered()}
    assert ("socket:", "create_connection") in names
    assert ("urllib3.util.connection:", "create_connection") in names
    assert ("moto.ec2.models.instances:InstanceBackend", "modify_instance_metadata_options") in names
    assert ("moto.ecs.responses:EC2ContainerServiceResponse", "submit_task_state_change") in names
    assert ("moto.core.models:botocore_stubber", "process_request") in names
    assert all(patch.why for patch in patches.registered())


def test_an_attribute_that_was_absent_is_absent_again():
    from moto.ecs.responses import EC2ContainerServiceResponse

    box = sandbox.start()
    try:
        assert "submit_task_state_change" in vars(EC2ContainerServiceResponse)
    finally:
        box.stop()
    assert "submit_task_state_change" not in vars(EC2ContainerServiceResponse)


def test_a_patch_that_fails_to_install_leaves_nothing_behind():
    class Owner:
        value = "original"

    import types

    module = types.ModuleType("gated_community_patch_probe")
    module.Owner = Owner
    import sys

    sys.modules[module.__name__] = module
    first = patches.Patch(f"{module.__name__}:Owner", "value", lambda original: "patched", "probe")
    broken = patches.Patch(f"{module.__name__}:Missing", "value", lambda original: "patched", "probe")
    saved = list(patches._registry)
    patches._registry[:] = [first, broken]
    try:
        with pytest.raises(AttributeError):
            patches.install()
        assert Owner.value == "original" and not patches.installed()
    finally:
        patches._registry[:] = saved
        del sys.modules[module.__name__]


def test_the_network_guard_is_in_the_registry_and_goes_with_the_sandbox():
    import socket

    before = (socket.socket.connect, socket.getaddrinfo, socket.create_connection)
    box = sandbox.start()
    try:
        with pytest.raises(OSError, match="sandbox blocked"):
            socket.create_connection(("192.0.2.1", 80), timeout=1)
        with pytest.raises(OSError, match="sandbox blocked"):
            socket.getaddrinfo("example.com", 443)
    finally:
        box.stop()
    assert (socket.socket.connect, socket.getaddrinfo, socket.create_connection) == before
    assert "connect" not in vars(socket.socket)


def test_the_clock_patches_are_in_the_registry_and_go_with_the_sandbox():
    import datetime as dt

    import botocore.credentials as credentials

    sandbox.start().stop()
    names = {(patch.owner, patch.name) for patch in patches.registered()}
    assert ("botocore.credentials:", "_local_now") in names
    assert ("botocore.credentials:RefreshableCredentials", "__init__") in names
    assert ("botocore.credentials:DeferredRefreshableCredentials", "__init__") in names
    original_now = credentials._local_now
    original_init = credentials.RefreshableCredentials.__init__

    def made_now():
        # Credentials made with botocore's default time_fetcher, as its providers make them.
        return credentials.RefreshableCredentials(
            "AKIA", "secret", "token", dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc), lambda: {}, "probe",
        )._time_fetcher()

    box = sandbox.start()
    try:
        box.clock.advance(hours=5)
        ahead = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=4, minutes=59)
        assert credentials._local_now() >= ahead
        assert made_now() >= ahead
    finally:
        box.stop()
    assert credentials._local_now is original_now
    assert credentials.RefreshableCredentials.__init__ is original_init
    assert made_now() < dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
