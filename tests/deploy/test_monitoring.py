"""Prometheus configurations, alert rules and Grafana dashboards: promtool checks them, and
every metric they name must be one the services really export."""

import importlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from deploy_support import ROOT, run, tool
from prometheus_client import REGISTRY, Metric

PROMETHEUS = ROOT / "deploy" / "prometheus"
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
SERVICE_SOURCES = sorted((ROOT / "services").glob("*/src"))

# What a metric family exports, by type (prometheus_client's names, without `_created`).
EXPORTED_SERIES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("", "_sum", "_count"),
    "info": ("_info",),
    "stateset": ("",),
    "enum": ("",),
    "unknown": ("",),
}
PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right",
    "and", "or", "unless", "offset", "bool", "inf", "nan",
}  # fmt: skip
# Grafana's variables, replaced by values of the same kind before promtool parses a query.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__range": "6h", "$service": ".*"}


def promql_metric_names(expr: str) -> set[str]:
    """The metric names an expression selects: identifiers that are not functions, keywords,
    label names (inside braces or by/without/on/ignoring lists) or durations."""
    expr = re.sub(r"label_values\(\s*([a-zA-Z_:][\w:]*)\s*,[^)]*\)", r"\1", expr)
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    names = re.findall(r"(?<![\w$.:])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()", expr)
    return {name for name in names if name.lower() not in PROMQL_WORDS}


def dashboard_queries(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("expr", "definition") and isinstance(value, str):
                yield value
            else:
                yield from dashboard_queries(value)
    elif isinstance(node, list):
        for value in node:
            yield from dashboard_queries(value)


def alert_expressions() -> list[str]:
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def modules_defining_metrics() -> list[str]:
    """Every service module that uses prometheus_client, by its import name."""
    return [
        ".".join(path.relative_to(source).with_suffix("").parts)
        for source in SERVICE_SOURCES
        for path in sorted(source.rglob("*.py"))
        if "prometheus_client" in path.read_text()
    ]


def declared_families(module: ModuleType) -> Iterator[Metric]:
    """Families a module's collectors declare through `describe()`: prometheus_client's way
    for a custom collector to name what it exports even while it has no samples."""
    for value in vars(module).values():
        describe = getattr(value, "describe", None)
        if not isinstance(value, type) and callable(describe):
            yield from describe()


@pytest.fixture(scope="module")
def exported_metric_names() -> set[str]:
    """The series names the services export: every module that defines metrics imported,
    then prometheus_client's registry collected, plus what custom collectors declare;
    `up` is Prometheus's own."""
    modules = [importlib.import_module(name) for name in modules_defining_metrics()]
    families = [*REGISTRY.collect()]
    families += [family for module in modules for family in declared_families(module)]
    return {"up"} | {
        family.name + suffix for family in families for suffix in EXPORTED_SERIES[family.type]
    }


def test_each_service_package_defines_metrics() -> None:
    packages = {module.split(".")[0] for module in modules_defining_metrics()}
    assert packages == {
        "gridcase_runtime",
        "gridcase_intake",
        "gridcase_assignment",
        "gridcase_remediation",
        "gridcase_stats",
    }


@pytest.mark.parametrize("source", ["alerts.yml", *(path.name for path in DASHBOARDS)])
def test_every_metric_named_is_exported(source: str, exported_metric_names: set[str]) -> None:
    if source == "alerts.yml":
        queries = alert_expressions()
    else:
        queries = list(dashboard_queries(json.loads((GRAFANA / "dashboards" / source).read_text())))
    named = {name for query in queries for name in promql_metric_names(query)}
    assert named, f"no metric found in {source}"
    assert named <= exported_metric_names, (
        f"{source} names unexported {named - exported_metric_names}"
    )


def test_the_metric_name_reader_sees_through_promql() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (service, le) (rate(a_bucket{service=~"$service"}'
        "[$__rate_interval]))) / on (service) group_left b_total > bool 0.5 and up offset 5m"
    )
    assert promql_metric_names(expr) == {"a_bucket", "b_total", "up"}
    assert promql_metric_names("label_values(c_total, service)") == {"c_total"}


@pytest.mark.parametrize("config", ["prometheus.yml", "prometheus.compose.yml"])
def test_prometheus_configuration_is_valid(config: str) -> None:
    result = run(tool("promtool"), "check", "config", PROMETHEUS / config)
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_rules_are_valid_and_fire_as_their_unit_tests_expect() -> None:
    promtool = tool("promtool")
    checked = run(promtool, "check", "rules", PROMETHEUS / "alerts.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = run(promtool, "test", "rules", PROMETHEUS / "alerts_test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    """promtool parses each query (Grafana's variables filled in) as a recording rule."""
    queries = []
    for dashboard in DASHBOARDS:
        for query in dashboard_queries(json.loads(dashboard.read_text())):
            if query.startswith("label_values("):
                continue
            for variable, value in GRAFANA_VARIABLES.items():
                query = query.replace(variable, value)
            queries.append(query)
    rules = [{"record": f"gridcase:dashboard_query_{i}", "expr": q} for i, q in enumerate(queries)]
    rule_file = tmp_path / "dashboard_queries.yml"
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = run(tool("promtool"), "check", "rules", rule_file)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboards_are_provisionable() -> None:
    datasources = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    datasource_uids = {source["uid"] for source in datasources["datasources"]}
    uids = set()
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        assert path.stem == dashboard["uid"]
        uids.add(dashboard["uid"])
        panels = dashboard["panels"]
        assert len({panel["id"] for panel in panels}) == len(panels), path.name
        for panel in panels:
            position = panel["gridPos"]
            assert position["x"] + position["w"] <= 24, (path.name, panel["title"])
            if panel["type"] == "row":
                continue
            assert panel["datasource"]["uid"] in datasource_uids, (path.name, panel["title"])
            assert panel["targets"], (path.name, panel["title"])
            for target in panel["targets"]:
                assert target["datasource"]["uid"] in datasource_uids
    assert uids == {"gridcase-operations", "gridcase-business"}


def test_dashboards_show_what_operators_and_leaders_need() -> None:
    """Operations: throughput, latency percentiles, lag, DLQ, errors, outbox backlog;
    business: found vs resolved, backlog by age, overdue by department, the rates."""
    wanted = {
        "gridcase-operations": [
            "rate(gridcase_http_requests_total",
            "histogram_quantile(0.99, sum by (service, le) (rate(gridcase_http_request",
            "gridcase_consumer_lag",
            "gridcase_dlq_records_total",
            'status=~"5.."',
            "gridcase_outbox_backlog",
            "gridcase_event_end_to_end_seconds_bucket",
        ],
        "gridcase-business": [
            "gridcase_found_cases",
            "gridcase_resolved_cases",
            "sum by (age_bucket) (gridcase_backlog_cases)",
            "gridcase_overdue_cases_by_department",
            "gridcase_resolution_rate",
            "gridcase_on_time_rate",
        ],
    }
    for uid, fragments in wanted.items():
        queries = " ".join(
            dashboard_queries(json.loads((GRAFANA / "dashboards" / f"{uid}.json").read_text()))
        )
        for fragment in fragments:
            assert fragment in queries, (uid, fragment)
