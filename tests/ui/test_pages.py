"""The pages, read over HTTP (no browser): what each shows, filters, search, paging, the JSON
a running execution's page polls, and errors."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from .conftest import Site, wait_status


def get(site: Site, path: str, **params: Any) -> httpx.Response:
    return httpx.get(site.ui + path, params=params, timeout=30)


def test_state_machines_list(site: Site) -> None:
    page = get(site, "/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for name in site.machines:
        assert f">{name}</a>" in page.text
    assert httpx.get(site.url + "/", follow_redirects=False).headers["location"] == "/ui/"


def test_a_state_machine_with_its_graph_versions_and_aliases(site: Site) -> None:
    page = get(site, "/machine", arn=site.machines["orders"])
    assert page.status_code == 200
    assert "<svg" in page.text and 'data-name="Route"' in page.text
    graph = page.text[page.text.index("<svg") : page.text.index("</svg>")]
    assert "data-status" not in graph  # the definition's graph: no execution's colours
    assert 'id="versions"' in page.text and ">1</a>" in page.text and "first" in page.text
    assert 'id="aliases"' in page.text and ">live<" in page.text and "100%" in page.text
    assert "order-ok" in page.text


def test_statuses_of_each_state_as_the_json_reports_them(site: Site) -> None:
    def states(key: str) -> dict[str, str]:
        answer = get(site, "/api/execution", arn=site.executions[key]).json()
        result: dict[str, str] = answer["states"]
        return result

    assert states("succeeded") == {
        "Check": "succeeded",
        "Route": "succeeded",
        "Pack": "succeeded",
        "Done": "succeeded",
    }
    assert states("failed") == {"Charge": "caught", "Refund": "succeeded", "GiveUp": "failed"}
    assert states("running") == {"Prepare": "succeeded", "Approve": "running"}
    assert (
        get(site, "/api/execution", arn="arn:aws:states:us-east-1:111111111111:execution:x:y").status_code
        == 404
    )


def test_an_execution_page(site: Site) -> None:
    page = get(site, "/execution", arn=site.executions["failed"])
    assert page.status_code == 200
    assert re.search(r'data-name="Charge"[^>]*data-status="caught"', page.text)
    assert re.search(r'data-name="Receipt"[^>]*data-status="not-reached"', page.text)
    assert "Payment.Failed" in page.text and "TaskStateEntered" in page.text
    data = json.loads(
        re.search(r'<script type="application/json" id="ui-data">(.*?)</script>', page.text, re.S)[1]
    )
    (charge,) = data["visits"]["Charge"]
    assert charge["status"] == "caught" and charge["error"] == "Card.Declined"
    assert json.loads(charge["input"]) == {"amount": 12}


def test_map_runs_with_their_item_counts(site: Site) -> None:
    page = get(site, "/execution", arn=site.executions["map"])
    assert 'id="map-runs"' in page.text
    row = page.text[page.text.index('id="map-runs"') :]
    assert re.search(r'<td class="num">4</td>\s*<td class="num">4</td>', row)  # 4 items, 4 succeeded
    run = site.sfn.list_map_runs(executionArn=site.executions["map"])["mapRuns"][0]["mapRunArn"]
    children = get(site, "/executions", map_run=run)
    assert children.text.count('<tr data-status="SUCCEEDED">') == 4


def test_executions_filtered_by_status_and_searched_by_name(site: Site) -> None:
    everything = get(site, "/executions")
    for name in ("order-ok", "charge-declined", "needs-approval", "fan-out"):
        assert name in everything.text
    failed = get(site, "/executions", status="FAILED")
    assert "charge-declined" in failed.text and "order-ok" not in failed.text
    found = get(site, "/executions", name="APPROV")
    assert "needs-approval" in found.text and "order-ok" not in found.text
    assert "Searched" in found.text
    jump = httpx.get(
        site.ui + "/executions", params={"name": site.executions["succeeded"]}, follow_redirects=False
    )
    assert jump.status_code in (302, 303, 307) and "/ui/execution?arn=" in jump.headers["location"]
    assert get(site, "/executions", status="NOPE").status_code == 400


def test_paging_follows_the_api_tokens(site: Site) -> None:
    pass_machine = site.sfn.create_state_machine(
        name="many",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        roleArn="arn:aws:iam::111111111111:role/test",
    )["stateMachineArn"]
    arns = [
        site.sfn.start_execution(stateMachineArn=pass_machine, name=f"many-{i:02d}")["executionArn"]
        for i in range(25)
    ]
    for arn in arns:
        wait_status(site.sfn, arn, ("SUCCEEDED",))
    first = get(site, "/executions", machine=pass_machine, size=20)
    assert first.text.count("<tr data-status=") == 20
    token = re.search(r'id="next-page" href="([^"]+)"', first.text)
    assert token is not None
    second = httpx.get(site.url + token[1].replace("&amp;", "&"), timeout=30)
    assert second.text.count("<tr data-status=") == 5 and 'id="next-page"' not in second.text
    shown = set(re.findall(r">(many-\d\d)</a>", first.text + second.text))
    assert shown == {f"many-{i:02d}" for i in range(25)}


def test_unknown_things_are_a_page_that_says_so(site: Site) -> None:
    missing = get(site, "/execution", arn="arn:aws:states:us-east-1:111111111111:execution:orders:nope")
    assert missing.status_code == 404 and "Does Not Exist" in missing.text
    assert get(site, "/execution").status_code == 400
    assert get(site, "/machine", arn="not-an-arn").status_code == 404
    assert get(site, "/static/ui.css").status_code == 200
