"""The Pushgateway: the textfile PUT to the group `job="cctrack", instance=<hostname>,
user=<user>`, replacing it, so that series that vanished here vanish there too. The group
holds no history: `since` says nothing to it. prometheus_client makes the request (the
group's URL, the body), the sinks' one transport sends it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from cctrack.sinks import JOB, Outgoing, Target, basic_auth, textfile_families


def request(target: Target) -> Outgoing:
    from prometheus_client import CollectorRegistry
    from prometheus_client.exposition import push_to_gateway
    from prometheus_client.registry import Collector

    metrics = textfile_families(target.textfile)

    class Textfile(Collector):
        def collect(self) -> Iterable[Any]:
            return metrics

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Textfile())
    made: dict[str, Any] = {}

    def capture(
        url: str, method: str, timeout: float | None, headers: Any, data: bytes
    ) -> Callable[[], None]:
        return lambda: made.update(url=url, method=method, headers=dict(headers), data=data)

    push_to_gateway(
        target.url,
        job=JOB,
        registry=registry,
        grouping_key={"instance": target.hostname, "user": target.user},
        handler=capture,
    )
    headers = dict(made["headers"])
    if target.credentials is not None:
        headers.update(basic_auth(target.credentials, "pushgateway_auth_file"))
    return Outgoing(
        made["method"],
        made["url"],
        made["data"],
        headers,
        target.textfile.name,
        f"job={JOB}, instance={target.hostname}, user={target.user}",
    )
