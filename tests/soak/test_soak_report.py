"""The soak's verdict figures (``bench.soak.report``) on hand-made requests."""

from __future__ import annotations

from collections import Counter

from bench.soak.audit import Audit, DbState
from bench.soak.report import build, degraded_p99, latency_bound
from bench.soak.traffic import Sent, Traffic


def sent(phase: str, latency: float, platforms: set[str], **more: object) -> Sent:
    request = Sent("create", phase, "serve-0", 3.0, frozenset(platforms), 100.0)
    request.ended = 100.0 + latency
    for name, value in more.items():
        setattr(request, name, value)
    return request


def test_the_deadline_bound_counts_only_answered_requests() -> None:
    requests = [
        sent("faults", 2.9, {"SHOPIFY"}),
        sent("faults", 3.2, {"SHOPIFY"}),  # late, within 10%
        sent("kills", 9.0, {"SHOPIFY"}, error="ServerDisconnectedError", killed=True),
        sent("faults", 5.0, {"SHOPIFY"}, error="client_timeout", abandoned=True),
    ]
    bound = latency_bound(requests)
    assert (bound["over"], bound["timed"], round(bound["ratio"], 3)) == (0, 2, 1.067)
    assert latency_bound([*requests, sent("faults", 3.4, {"SHOPIFY"})])["over"] == 1


def test_the_degraded_p99_leaves_out_carts_on_the_failing_platform() -> None:
    requests = [sent("healthy", 0.1, {"SHOPIFY"}), sent("healthy-after", 0.1, {"SHOPIFY"})]
    requests += [sent("degraded", 0.11, {"SHOPIFY"}), sent("degraded", 3.0, {"BIGCOMMERCE"})]
    requests.append(sent("degraded", 3.0, {"BIGCOMMERCE", "SHOPIFY"}))
    slow = degraded_p99(requests, "BIGCOMMERCE")
    assert (slow["n_healthy"], slow["n_degraded"]) == (2, 1)
    assert round(slow["ratio"], 2) == 1.1 and slow["holds"]


def _verdict(counted: Audit) -> list[str]:
    traffic = Traffic.__new__(Traffic)  # what build reads of it, without a stack
    traffic.sent, traffic.logicals, traffic.not_sent = [], [], 0
    db = DbState([], [], {}, Counter())
    result = build(
        "sqlite",
        traffic,
        db,
        counted,
        platform="BIGCOMMERCE",
        kills=Counter(),
        kill_count=0,
        settled={"seconds": 4.0},
        elapsed_s=1.0,
    )
    return result.failures


def test_dangling_bags_and_unresolved_outcomes_fail_the_verdict() -> None:
    assert _verdict(Audit()) == []
    assert _verdict(Audit(dangling=2)) == ["2 dangling bags (live, their external cart missing)"]
    assert _verdict(Audit(unresolved=1)) == ["1 unknown outcomes unresolved after settling (4.0 s)"]
