"""botocore's own credential chain, built for a process at a place and on the sandbox clock.

The one module that reaches into botocore's credential internals: the refresh window of the instance metadata
fetcher, and the clock and refresh function a ``RefreshableCredentials`` keeps. Everything above hands it a
``run_at`` wrapper (which runs a function from where its code runs: ``grader.credentials.places``), never a place.
"""

from __future__ import annotations

import datetime as _dt
import time
from typing import Callable, Mapping, Optional

import boto3
import botocore.credentials
import botocore.loaders
import botocore.session
import botocore.utils

__all__ = ["botocore_session", "session_from_environment", "minting_session", "now", "stamp"]

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def stamp(moment: _dt.datetime) -> str:
    """A moment as botocore reads an expiry and the endpoints write it: UTC, to the second (2026-12-07T14:00:00Z)."""
    return moment.astimezone(_dt.timezone.utc).strftime(_TIME_FORMAT)

RunAt = Callable[[Callable], Callable]
"""Wraps a function so that it runs from a place (an instance, a task); the identity where there is none."""


def _here(function: Callable) -> Callable:
    return function


_CONTAINER_RETRY_PAUSE = 0.05
"""botocore pauses a second between its three tries at the container endpoint; an endpoint in the process needs no
such patience, and a chapter that shows a refusal should not stall for three seconds."""


def _credential_chain(session: botocore.session.Session, environ: Mapping[str, str], run_at: RunAt):
    """botocore's default providers, in botocore's order, reading ``environ`` instead of the sandbox's environment.

    The shared-file providers are left out: inside the sandbox those files are empty by construction.
    """
    imds_config = {
        "ec2_metadata_service_endpoint": session.get_config_variable("ec2_metadata_service_endpoint"),
        "ec2_metadata_service_endpoint_mode": botocore.utils.resolve_imds_endpoint_mode(session),
        "ec2_credential_refresh_window": botocore.credentials._DEFAULT_ADVISORY_REFRESH_TIMEOUT,
        "ec2_metadata_v1_disabled": session.get_config_variable("ec2_metadata_v1_disabled"),
    }
    fetcher = botocore.utils.InstanceMetadataFetcher(
        timeout=session.get_config_variable("metadata_service_timeout"),
        num_attempts=session.get_config_variable("metadata_service_num_attempts"),
        env=dict(environ), user_agent=session.user_agent(), config=imds_config,
    )
    container_fetcher = botocore.utils.ContainerMetadataFetcher(
        sleep=lambda seconds: time.sleep(min(seconds, _CONTAINER_RETRY_PAUSE)))
    return botocore.credentials.CredentialResolver(providers=[
        botocore.credentials.EnvProvider(environ=dict(environ)),
        _AtPlace(botocore.credentials.ContainerProvider(environ=dict(environ), fetcher=container_fetcher), run_at),
        _AtPlace(botocore.credentials.InstanceMetadataProvider(iam_role_fetcher=fetcher), run_at),
    ])


def now() -> _dt.datetime:
    """botocore's idea of now, looked up at each call: the sandbox clock while the sandbox runs."""
    return botocore.credentials._local_now()


class _AtPlace(botocore.credentials.CredentialProvider):
    """Runs a botocore provider unchanged, from where its process runs and on the sandbox clock.

    The provider asks 169.254.169.254 or 169.254.170.2 when it loads and whenever botocore refreshes, so both run at
    the session's place. RefreshableCredentials takes its clock as a default argument, bound to botocore's
    ``_local_now`` when botocore was imported, so pointing ``botocore.credentials._local_now`` at the sandbox clock
    does not reach it.
    """

    def __init__(self, provider: botocore.credentials.CredentialProvider, run_at: RunAt):
        self.provider = provider
        self.run_at = run_at
        self.METHOD = provider.METHOD
        self.CANONICAL_NAME = provider.CANONICAL_NAME

    def load(self):
        credentials = self.run_at(self.provider.load)()
        if isinstance(credentials, botocore.credentials.RefreshableCredentials):
            credentials._time_fetcher = now
            credentials._refresh_using = self.run_at(credentials._refresh_using)
        return credentials


_loader: Optional[botocore.loaders.Loader] = None


def botocore_session() -> botocore.session.Session:
    """A new botocore session that shares one loader with the others made here.

    Service models are parsed once per loader; a chapter makes a session per instance and task, and each would
    otherwise read the same JSON models again.
    """
    global _loader
    core = botocore.session.Session()
    if _loader is None:
        _loader = core.get_component("data_loader")
    else:
        core.register_component("data_loader", _loader)
    return core


def session_from_environment(environ: Mapping[str, str], run_at: RunAt = _here) -> boto3.Session:
    """A boto3 session as a process with exactly ``environ`` would make it where ``run_at`` runs: the default chain."""
    core = botocore_session()
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    if region:
        core.set_config_variable("region", region)
    core.set_config_variable("ec2_metadata_service_endpoint", environ.get("AWS_EC2_METADATA_SERVICE_ENDPOINT"))
    core.set_config_variable("metadata_service_timeout", 2)
    core.set_config_variable("metadata_service_num_attempts", 1)
    core.register_component("credential_provider", _credential_chain(core, environ, run_at))
    return boto3.Session(botocore_session=core)


class _MintingProvider(botocore.credentials.CredentialProvider):
    """Credentials minted in-process and renewed by botocore when they near expiry: the ECS agent's own."""

    METHOD = "ecs-agent"
    CANONICAL_NAME = "EcsAgent"

    def __init__(self, fetch: Callable[[], dict]):
        self._fetch = fetch

    def _metadata(self) -> dict:
        badge = self._fetch()
        return {"access_key": badge["AccessKeyId"], "secret_key": badge["SecretAccessKey"],
                "token": badge["Token"], "expiry_time": stamp(badge["Expiration"])}

    def load(self):
        credentials = botocore.credentials.RefreshableCredentials.create_from_metadata(
            self._metadata(), refresh_using=self._metadata, method=self.METHOD)
        credentials._time_fetcher = now  # see _AtPlace
        return credentials




def minting_session(fetch: Callable[[], dict], region: str) -> boto3.Session:
    """A session whose credentials ``fetch`` mints in the process, renewed by botocore when they near expiry."""
    core = botocore_session()
    core.set_config_variable("region", region)
    core.register_component("credential_provider", botocore.credentials.CredentialResolver(providers=[
        _MintingProvider(fetch)]))
    return boto3.Session(botocore_session=core)
