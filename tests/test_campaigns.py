"""campaign_performance: the attribution rule recounted in pandas, the uplift interval against
Newcombe's published examples, and the generator's planted uplift inside the intervals."""

from __future__ import annotations

import math
from datetime import timedelta

import pandas as pd
import pytest
from conftest import GeneratedBuild, Workspace

ATTRIBUTION_DAYS = 14  # dbt_project.yml default, used by the generated build
Z = 1.959963984540054  # 97.5% quantile of the standard normal distribution


@pytest.fixture(scope="session")
def generated_campaigns(generated_build: GeneratedBuild) -> tuple[Workspace, dict]:
    return generated_build.workspace, generated_build.manifest


def wilson(successes: int, trials: int) -> tuple[float, float]:
    """Wilson score interval, written as centre +- half width."""
    p = successes / trials
    denominator = 1 + Z ** 2 / trials
    centre = (p + Z ** 2 / (2 * trials)) / denominator
    half = Z * math.sqrt(p * (1 - p) / trials + Z ** 2 / (4 * trials ** 2)) / denominator
    return centre - half, centre + half


def newcombe(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    """Newcombe's hybrid score interval (1998, method 10) for p1 - p2."""
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson(x1, n1)
    l2, u2 = wilson(x2, n2)
    return (p1 - p2 - math.hypot(p1 - l1, u2 - p2), p1 - p2 + math.hypot(u1 - p1, p2 - l2))


@pytest.mark.parametrize(("counts", "published"), [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((6, 7, 2, 7), (0.0582, 0.8062)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
])
def test_reference_interval_reproduces_newcombe_1998(
        counts: tuple[int, int, int, int], published: tuple[float, float]) -> None:
    """Newcombe, Statistics in Medicine 17 (1998) 873-890, table II, method 10."""
    lower, upper = newcombe(*counts)
    assert abs(lower - published[0]) < 5e-5 and abs(upper - published[1]) < 5e-5


def recount(workspace: Workspace) -> pd.DataFrame:
    """Per campaign and arm: contacts, converters, credited purchases, revenue, margin."""
    as_of = workspace.scalar("select as_of_date from intermediate.int_run_dates")
    campaigns = pd.DataFrame(workspace.query(
        "select campaign_id, starts_on, ends_on from staging.stg_campaigns "
        "where quarantine_reason is null"), columns=["campaign_id", "starts_on", "ends_on"])
    campaigns = campaigns[campaigns.starts_on <= as_of]
    contacts = pd.DataFrame(workspace.query(
        "select campaign_id, customer_id, contacted_at, is_control "
        "from staging.stg_campaign_contacts where quarantine_reason is null"),
        columns=["campaign_id", "customer_id", "contacted_at", "is_control"])
    contacts = contacts[contacts.contacted_at.map(lambda moment: moment.date() <= as_of)]
    contacts = contacts.merge(campaigns, on="campaign_id")
    purchases = pd.DataFrame(workspace.query(
        "select customer_id, ordered_at, ordered_on, cast(net_revenue as double), "
        "cast(gross_margin_amount as double) from intermediate.int_orders_netted "
        "where not is_guest and is_purchase"),
        columns=["customer_id", "ordered_at", "ordered_on", "revenue", "margin"])
    purchases = purchases[purchases.ordered_on <= as_of]
    pairs = contacts.merge(purchases, on="customer_id")
    window_end = pairs.ends_on.map(lambda day: day + timedelta(days=ATTRIBUTION_DAYS))
    credited = pairs[(pairs.ordered_at >= pairs.contacted_at) & (pairs.ordered_on <= window_end)]
    per_contact = credited.groupby(["campaign_id", "customer_id"]).agg(
        orders=("revenue", "size"), revenue=("revenue", "sum"), margin=("margin", "sum"))
    contacts = contacts.join(per_contact, on=["campaign_id", "customer_id"]).fillna(
        {"orders": 0, "revenue": 0.0, "margin": 0.0})
    contacts["converted"] = contacts.orders > 0
    return contacts.groupby(["campaign_id", "is_control"]).agg(
        customers=("customer_id", "size"), converted=("converted", "sum"),
        orders=("orders", "sum"), revenue=("revenue", "sum"), margin=("margin", "sum"))


MART_COLUMNS = [
    "campaign_id", "contacted_customer_count", "converted_customer_count", "conversion_rate",
    "attributed_order_count", "attributed_net_revenue_amount", "attributed_gross_margin_amount",
    "cost_amount", "roi", "control_customer_count", "control_converted_customer_count",
    "control_conversion_rate", "conversion_uplift", "conversion_uplift_lower",
    "conversion_uplift_upper", "incremental_roi", "is_attribution_complete",
]


def mart(workspace: Workspace) -> dict[str, dict]:
    rows = workspace.query(f"select {', '.join(MART_COLUMNS)} from main.campaign_performance")
    return {row[0]: dict(zip(MART_COLUMNS, row, strict=True)) for row in rows}


def test_campaign_figures_match_an_independent_recount(
        generated_campaigns: tuple[Workspace, dict]) -> None:
    workspace, _ = generated_campaigns
    arms = recount(workspace)
    performance = mart(workspace)
    assert set(performance) == set(arms.index.get_level_values("campaign_id"))
    for campaign_id, row in performance.items():
        treated = arms.loc[(campaign_id, False)]
        control = arms.loc[(campaign_id, True)]
        cost = float(row["cost_amount"])
        assert row["contacted_customer_count"] == treated.customers
        assert row["converted_customer_count"] == treated.converted
        assert row["attributed_order_count"] == treated.orders
        assert abs(float(row["attributed_net_revenue_amount"]) - treated.revenue) < 0.005
        assert abs(float(row["attributed_gross_margin_amount"]) - treated.margin) < 0.005
        assert row["control_customer_count"] == control.customers
        assert row["control_converted_customer_count"] == control.converted
        p1 = treated.converted / treated.customers
        p2 = control.converted / control.customers
        lower, upper = newcombe(int(treated.converted), int(treated.customers),
                                int(control.converted), int(control.customers))
        incremental = treated.margin - treated.customers * control.margin / control.customers
        for column, want in [("conversion_rate", p1), ("control_conversion_rate", p2),
                             ("conversion_uplift", p1 - p2), ("conversion_uplift_lower", lower),
                             ("conversion_uplift_upper", upper),
                             ("roi", (treated.margin - cost) / cost),
                             ("incremental_roi", (incremental - cost) / cost)]:
            assert math.isclose(row[column], want, rel_tol=1e-9, abs_tol=1e-12), (
                campaign_id, column, row[column], want)


def test_conversions_agree_with_the_generator(
        generated_campaigns: tuple[Workspace, dict]) -> None:
    """The generator counts conversions by the same rule on its own orders; the warehouse can
    only have fewer, where an order was returned in full (then it is not a purchase)."""
    workspace, manifest = generated_campaigns
    performance = mart(workspace)
    for planted in manifest["campaigns"]["per_campaign"]:
        row = performance[planted["campaign_id"]]
        if not row["is_attribution_complete"]:
            continue
        assert row["contacted_customer_count"] == planted["treated"]
        assert row["control_customer_count"] == planted["control"]
        for mine, theirs in [(row["converted_customer_count"],
                              planted["realised_treated_conversions"]),
                             (row["control_converted_customer_count"],
                              planted["realised_control_conversions"])]:
            assert theirs - 0.02 * planted["contacts"] <= mine <= theirs


def test_uplift_intervals_contain_the_planted_uplift(
        generated_campaigns: tuple[Workspace, dict]) -> None:
    """A 95% interval misses the true value 5% of the time, so with about a dozen campaigns
    up to two misses are expected (P(3 or more of 12) is about 2%); more means the interval
    is too narrow or biased. The pooled interval over all campaigns must contain the overall
    planted uplift."""
    workspace, manifest = generated_campaigns
    performance = mart(workspace)
    evaluated = misses = 0
    pooled = [0, 0, 0, 0]
    for planted in manifest["campaigns"]["per_campaign"]:
        row = performance[planted["campaign_id"]]
        if not row["is_attribution_complete"] or not row["control_customer_count"]:
            continue
        evaluated += 1
        truth = planted["planted_conversion_uplift"]
        misses += not row["conversion_uplift_lower"] <= truth <= row["conversion_uplift_upper"]
        for i, column in enumerate(["converted_customer_count", "contacted_customer_count",
                                    "control_converted_customer_count",
                                    "control_customer_count"]):
            pooled[i] += row[column]
    assert evaluated >= 8
    assert misses <= 2, f"{misses} of {evaluated} intervals miss the planted uplift"
    lower, upper = newcombe(*pooled)
    assert lower <= manifest["campaigns"]["overall"]["planted_conversion_uplift"] <= upper
