import importlib
import pkgutil

import pytest
from fastapi.routing import APIRoute

import api.routes
from api.policies import Enforcer
from api.policies.defaults import DEFAULTS
from api.policies.routes import PROJECT_PREFIX, ROUTE_RULES, enforce_route, rule_for
from tests.unit.api.policies.test_enforcer import ADMIN, MEMBER, OTHER_MEMBER, READER


@pytest.fixture(scope="module")
def project_routes() -> set[tuple[str, str]]:
    """(method, path under the project prefix) of every route the API modules declare."""
    served = set()
    for info in pkgutil.iter_modules(api.routes.__path__):
        module = importlib.import_module(f"api.routes.{info.name}")
        for route in module.router.routes:
            if isinstance(route, APIRoute) and route.path.startswith(PROJECT_PREFIX):
                served |= {(method, route.path.removeprefix(PROJECT_PREFIX))
                           for method in route.methods}
    return served


def test_every_table_entry_is_a_served_route(project_routes):
    assert set(ROUTE_RULES) - project_routes == set()


def test_every_table_rule_is_defined():
    assert set(ROUTE_RULES.values()) <= DEFAULTS.keys()


@pytest.mark.parametrize("method, path, rule", [
    ("POST", "/v3/{project_id}/volumes", "volume:create"),
    ("GET", "/v3/{project_id}/os-services", "volume_extension:services:index"),
    ("GET", "/v3/{project_id}/some-new-list", "xena_system_admin_or_project_reader"),
    ("POST", "/v3/{project_id}/some-new-thing", "xena_system_admin_or_project_member"),
])
def test_rule_for_route(method, path, rule):
    assert rule_for(method, path) == rule


@pytest.mark.parametrize("caller, method, path, params, allowed", [
    (READER, "GET", "/v3/{project_id}/volumes/detail", {}, True),
    (READER, "POST", "/v3/{project_id}/volumes", {}, False),
    (READER, "POST", "/v3/{project_id}/volumes/{volume_id}/action", {}, False),
    (MEMBER, "POST", "/v3/{project_id}/volumes/{volume_id}/action", {}, True),
    (MEMBER, "GET", "/v3/{project_id}/os-services", {}, False),
    (MEMBER, "POST", "/v3/{project_id}/types", {}, False),
    (MEMBER, "GET", "/v3/{project_id}/types", {}, True),
    (MEMBER, "GET", "/v3/{project_id}/os-quota-sets/{target}", {"target": "p1"}, True),
    (OTHER_MEMBER, "GET", "/v3/{project_id}/os-quota-sets/{target}", {"target": "p1"}, False),
    (ADMIN, "GET", "/v3/{project_id}/os-quota-sets/{target}", {"target": "p1"}, True),
    (ADMIN, "PUT", "/v3/{project_id}/os-services/{action}", {"action": "disable"}, True),
])
def test_personas_per_route(caller, method, path, params, allowed):
    try:
        enforce_route(Enforcer(), caller, method, path, params)
    except Exception as exc:
        assert not allowed, exc
    else:
        assert allowed
