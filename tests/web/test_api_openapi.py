"""openapi.yml describes every route of the blueprint, with its roles."""
import re
from pathlib import Path

import pytest

from agent_console import api
from agent_console.app import create_app

from .test_api_support import API

try:
    import yaml
except ImportError:  # pragma: no cover - the text scan below stands in
    yaml = None

SPEC = Path(api.__file__).with_name("openapi.yml")


def api_routes():
    """(openapi path, method, roles) for every route the blueprint registers."""
    app = create_app(sessions=None, secret_key="t" * 40)
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api_v1."):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule).removeprefix(API)
        roles = getattr(app.view_functions[rule.endpoint], "allowed_roles", ())
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield path, method.lower(), roles


ROUTES = sorted(api_routes())


def test_every_route_is_guarded_or_public():
    for path, method, roles in ROUTES:
        assert roles or path == "/openapi.yml", (path, method)


@pytest.mark.skipif(yaml is None, reason="PyYAML is not installed; the text scan checks the file")
def test_openapi_parses_and_describes_every_route_with_its_roles():
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    assert spec["openapi"].startswith("3.1")
    described = {(p, m) for p, ops in spec["paths"].items() for m in ops if m != "parameters"}
    assert described == {(p, m) for p, m, _ in ROUTES}
    for path, method, roles in ROUTES:
        operation = spec["paths"][path][method]
        assert tuple(operation["x-roles"]) == tuple(roles), (path, method)
        responses = operation["responses"]
        if roles:
            assert {"401", "403"} <= set(responses), (path, method)
        if "requestBody" in operation:
            assert {"400", "413", "422"} <= set(responses), (path, method)
    assert spec["paths"]["/openapi.yml"]["get"]["security"] == []
    assert "CSRF" in spec["info"]["description"]


def test_openapi_text_names_every_route_and_method():
    # The check that needs no YAML parser: each path appears as a key, with its methods below it.
    text = SPEC.read_text(encoding="utf-8")
    blocks = dict(re.findall(r"(?m)^  (/\S*):\n((?:    .*\n|\n)*)", text))
    for path, method, _ in ROUTES:
        assert path in blocks, path
        assert re.search(rf"(?m)^    {method}:$", blocks[path]), (path, method)


def test_openapi_is_served_as_yaml():
    client = create_app(sessions=None, secret_key="t" * 40).test_client()
    reply = client.get(API + "/openapi.yml")
    assert reply.status_code == 200 and reply.mimetype == "application/yaml"
    assert reply.get_data() == SPEC.read_bytes()
