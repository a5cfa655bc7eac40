"""The do-not-call list over HTTP."""
import pytest

from .test_api_support import api_template, world  # noqa: F401 (fixtures)


def test_add_list_check_remove(world):
    added = world.post("/dnc", role="supervisor", json={"number": "(555) 123-0001",
                                                        "reason": "客户要求"})
    assert added.status_code == 201
    assert added.get_json()["e164"] == "+15551230001"
    assert added.get_json()["added_by"] == world.user_ids["supervisor"]
    listed = world.get("/dnc", role="admin").get_json()
    assert [e["e164"] for e in listed["items"]] == ["+15551230001"]
    assert listed["items"][0]["reason"] == "客户要求"
    assert world.get("/dnc/check?number=555.123.0001").get_json()["blocked"] is True
    assert world.delete("/dnc/+15551230001", role="admin").status_code == 204
    assert world.get("/dnc/check?number=5551230001").get_json() == {"number": "+15551230001",
                                                                     "blocked": False}
    again = world.delete("/dnc/+15551230001", role="admin")
    assert again.status_code == 404 and again.get_json()["error"] == "not_found"


@pytest.mark.parametrize("call", [
    lambda w: w.post("/dnc", role="supervisor", json={"number": "CALLNOW"}),
    lambda w: w.post("/dnc", role="supervisor", json={}),
    lambda w: w.get("/dnc/check?number=abc"),
    lambda w: w.get("/dnc/check"),
    lambda w: w.delete("/dnc/letters", role="admin"),
], ids=["add letters", "add nothing", "check letters", "check nothing", "remove letters"])
def test_bad_numbers_name_the_number(world, call):
    reply = call(world)
    assert reply.status_code == 422 and "number" in reply.get_json()["fields"]
