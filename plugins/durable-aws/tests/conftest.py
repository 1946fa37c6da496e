"""One moto server (a subprocess on 127.0.0.1) for the plugin's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from aws_helpers import REGION, fake_session
from durable_aws import AwsIntegration
from durable_aws.testing import moto_server

from durable import Engine


@pytest.fixture(scope="session")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def aws(endpoint: str) -> AwsIntegration:
    return AwsIntegration(session=fake_session(), endpoint_url=endpoint, region=REGION)


@pytest.fixture
def boto(endpoint: str) -> Callable[[str], Any]:
    session = fake_session()
    return lambda service: session.client(service, endpoint_url=endpoint, region_name=REGION)


@pytest.fixture
async def engine(aws: AwsIntegration) -> AsyncIterator[Engine]:
    async with Engine(load_plugins=False) as e:
        e.add_integration(aws)
        yield e
