"""A directory of menu files: all-or-nothing loading, and a registry that keeps
the last good flows when an edit breaks a file."""
import pytest
import yaml

from ivr.loader import MenuError, MenuRegistry, load_flows


def flow(name, dids=None, goodbye="vm-goodbye"):
    data = {"flow": name, "start": "bye", "nodes": {"bye": {"kind": "hangup", "prompt": goodbye}}}
    if dids is not None:
        data["dids"] = dids
    return data


def write(directory, filename, data):
    text = data if isinstance(data, str) else yaml.safe_dump(data)
    (directory / filename).write_text(text, encoding="utf-8")


@pytest.fixture
def menus(tmp_path):
    write(tmp_path, "main.yaml", flow("main", ["8005550100", "8005550101"]))
    write(tmp_path, "sales.yml", flow("sales", ["8005550200"]))
    write(tmp_path, "fallback.yaml", flow("fallback", ["*"]))
    return tmp_path


def test_load_flows_reads_yaml_and_yml(menus):
    (menus / "notes.txt").write_text("not a menu")
    (menus / ".#main.yaml").write_text("editor lock: [")  # hidden files are skipped
    flows = load_flows(menus)
    assert sorted(flows) == ["fallback", "main", "sales"]
    assert flows["sales"].source == str(menus / "sales.yml")


def test_load_flows_is_all_or_nothing(menus):
    write(menus, "zz_broken.yaml", flow("broken", ["8005550300"], goodbye="../x"))
    with pytest.raises(MenuError) as caught:
        load_flows(menus)
    assert caught.value.file == str(menus / "zz_broken.yaml")
    assert caught.value.node == "bye" and "not a sound name" in str(caught.value)


def test_load_flows_passes_loader_options(menus):
    with pytest.raises(MenuError, match="'vm-goodbye' does not exist in 'en'"):
        load_flows(menus, prompt_exists=lambda sound, lang: False)


def test_a_flow_name_used_twice(menus):
    write(menus, "main2.yaml", flow("main", ["8005550400"]))
    with pytest.raises(MenuError, match="flow name 'main' is also used by .*main.yaml") as caught:
        load_flows(menus)
    assert caught.value.file == str(menus / "main2.yaml")


@pytest.mark.parametrize("dids, clash", [(["8005550100"], "8005550100"), (["*"], r"\*")])
def test_a_did_claimed_twice(menus, dids, clash):
    write(menus, "other.yaml", flow("other", dids))
    with pytest.raises(MenuError, match=f"DID '{clash}' is also claimed by flow"):
        load_flows(menus)


def test_an_empty_or_missing_directory(tmp_path):
    with pytest.raises(MenuError, match="has no \\*.yaml menu files"):
        load_flows(tmp_path)
    with pytest.raises(MenuError, match="is not a directory"):
        load_flows(tmp_path / "absent")


def test_registry_routes_dids_exactly_then_to_the_catch_all(menus):
    registry = MenuRegistry(menus)
    assert registry.flow_for_did("8005550100") is None  # nothing until the first reload
    assert registry.reload() == []
    assert registry.flow_for_did("8005550101").name == "main"
    assert registry.flow_for_did("8005550200").name == "sales"
    assert registry.flow_for_did("8009999999").name == "fallback"
    assert sorted(registry.flows) == ["fallback", "main", "sales"]


def test_no_catch_all_means_no_flow(tmp_path):
    write(tmp_path, "main.yaml", flow("main", ["8005550100"]))
    registry = MenuRegistry(tmp_path)
    assert registry.reload() == []
    assert registry.flow_for_did("8005550100").name == "main"
    assert registry.flow_for_did("8009999999") is None


def test_a_flow_without_dids_catches_all(tmp_path):
    write(tmp_path, "main.yaml", flow("main"))
    registry = MenuRegistry(tmp_path)
    registry.reload()
    assert registry.flow_for_did("123").name == "main"


def test_registry_keeps_the_last_good_flows_when_a_file_breaks(menus):
    registry = MenuRegistry(menus)
    assert registry.reload() == []
    before = registry.flows
    write(menus, "sales.yml", "flow: sales\nstart: bye\nnodes: {bye: {kind: hangup}\n")
    write(menus, "main.yaml", flow("main", ["8005550100"], goodbye="/etc/passwd"))
    errors = registry.reload()
    assert {e.file for e in errors} == {str(menus / "main.yaml"), str(menus / "sales.yml")}
    assert all(isinstance(e, MenuError) for e in errors)
    assert any(e.node == "bye" and "not a sound name" in e.problem for e in errors)
    assert any("YAML syntax error at line" in e.problem for e in errors)
    assert registry.flows is before
    assert registry.flow_for_did("8005550200").name == "sales"


def test_registry_swaps_when_the_file_is_fixed(menus):
    registry = MenuRegistry(menus)
    registry.reload()
    write(menus, "sales.yml", flow("sales", ["8005550200"], goodbye="../../x"))
    assert registry.reload()
    write(menus, "sales.yml", flow("sales", ["8005550200", "8005550201"]))
    assert registry.reload() == []
    assert registry.flow_for_did("8005550201").name == "sales"


def test_registry_lists_every_problem_of_a_file_separately(menus):
    registry = MenuRegistry(menus)
    write(menus, "main.yaml", {"flow": "Main!", "start": "x", "nodes": {"x": {"kind": "fax"}},
                               "dids": ["abc"]})
    errors = registry.reload()
    assert len(errors) == 2 and all(e.file == str(menus / "main.yaml") for e in errors)
    assert registry.flows == {}


def test_registry_uses_its_loader_options(menus):
    registry = MenuRegistry(menus, prompt_exists=lambda sound, lang: sound != "vm-goodbye")
    errors = registry.reload()
    assert len(errors) == 3 and {e.node for e in errors} == {"bye"}
