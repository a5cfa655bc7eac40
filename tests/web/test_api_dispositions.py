"""Dispositions over HTTP: the catalogue and applying one at wrap-up."""
import pytest

from .test_api_support import api_template, world  # noqa: F401 (fixtures)


@pytest.fixture
def catalogue(world):
    for code, label, flags in (("sale", "Sale", {"sale": True, "final": True}),
                               ("dnc", "Do not call", {"do_not_call": True}),
                               ("old", "Old", {"active": False})):
        reply = world.post("/dispositions", role="admin", json={"code": code, "label": label,
                                                                **flags})
        assert reply.status_code == 201, reply.get_json()
    return world


def test_list_active_and_all(catalogue):
    active = catalogue.get("/dispositions").get_json()["items"]
    assert [d["code"] for d in active] == ["dnc", "sale"]
    assert active[1] == {"code": "sale", "label": "Sale", "contact_made": False, "sale": True,
                         "callback": False, "do_not_call": False, "final": True, "active": True}
    every = catalogue.get("/dispositions?active_only=false").get_json()["items"]
    assert [d["code"] for d in every] == ["dnc", "old", "sale"]


@pytest.mark.parametrize("body,field", [
    ({"code": "Bad Code!", "label": "X"}, "code"),
    ({"code": "ok"}, "label"),
    ({"code": "ok", "label": "X", "sale": "yes"}, "sale"),
    ({"code": "ok", "label": "X", "glitter": True}, "glitter"),
])
def test_a_new_disposition_is_checked(world, body, field):
    reply = world.post("/dispositions", role="admin", json=body)
    assert reply.status_code == 422 and field in reply.get_json()["fields"]


def test_a_code_is_unique(catalogue):
    reply = catalogue.post("/dispositions", role="admin", json={"code": "sale", "label": "Again"})
    assert reply.status_code == 409


def test_update_label_and_flags(catalogue):
    reply = catalogue.patch("/dispositions/sale", role="admin",
                            json={"label": "Verkauf", "contact_made": True})
    assert reply.status_code == 200
    assert reply.get_json()["label"] == "Verkauf" and reply.get_json()["contact_made"] is True
    missing = catalogue.patch("/dispositions/nope", role="admin", json={"label": "X"})
    assert missing.status_code == 404
    bad = catalogue.patch("/dispositions/sale", role="admin", json={"code": "other"})
    assert bad.status_code == 422 and "code" in bad.get_json()["fields"]


def test_apply_at_wrap_up(catalogue):
    call_id = catalogue.save_call(caller_number="+15551230009")
    reply = catalogue.post(f"/interactions/{call_id}/disposition",
                           json={"code": "sale", "notes": "两台"})
    assert reply.status_code == 200
    interaction = reply.get_json()
    assert interaction["disposition_code"] == "sale" and interaction["notes"] == "两台"
    assert interaction["agent_id"] == catalogue.user_ids["agent"]


def test_a_do_not_call_outcome_blocks_the_number(catalogue):
    call_id = catalogue.save_call(caller_number="+15551230009")
    catalogue.post(f"/interactions/{call_id}/disposition", json={"code": "dnc"})
    check = catalogue.get("/dnc/check?number=%2B15551230009").get_json()
    assert check == {"number": "+15551230009", "blocked": True}


def test_apply_is_checked(catalogue):
    call_id = catalogue.save_call()
    inactive = catalogue.post(f"/interactions/{call_id}/disposition", json={"code": "old"})
    assert inactive.status_code == 422 and "code" in inactive.get_json()["fields"]
    missing = catalogue.post(f"/interactions/{call_id}/disposition", json={})
    assert missing.status_code == 422 and "code" in missing.get_json()["fields"]
    assert catalogue.post("/interactions/999/disposition", json={"code": "sale"}).status_code == 404
