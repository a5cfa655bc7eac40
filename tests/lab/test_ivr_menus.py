"""The IVR runtime walking key menus on real calls: a caller on the world dials a
DID, presses keys over RTP, and lands in a queue, in on_fail, or hangs up; the
path is stored on the call's interaction every time."""
from __future__ import annotations

import pytest

from callcenter.world import CallerScript

from .ivr_support import IvrLab, step_of, steps

pytestmark = [pytest.mark.lab, pytest.mark.asyncio]

NAV = "8005550201"
BARGE = "8005550202"
LANGUAGE = "8005550209"
NOBODY = "8005550299"  # no menu claims it


async def test_keys_through_two_menus_reach_the_queue(lab, sessions):
    async with IvrLab(lab, sessions) as ivr:
        await ivr.call(NAV, "+15552000001", CallerScript(keys="1www3", delay=1.0, hold=20))
        (queued,) = await ivr.ivr.wait("ivr.queue", timeout=20)
        facts = queued.pop("ivr")  # the caller's way through the IVR, for the screen pop
        assert queued == {"linkedid": queued["linkedid"], "queue": "sales_new",
                          "skills": ["sales", "english"], "priority": 7, "customer_id": None,
                          "caller": "+15552000001"}
        assert [step["node"] for step in facts["path"]] == ["main", "sales", "new_sales"]
        assert facts["keys"] == "13" and facts["outcome"] == "queue"
        linkedid = queued["linkedid"]
        # Asterisk really runs the caller in the hand-off context, with the variables set.
        variables = await ivr.in_queue_context(linkedid)
        assert variables == {"CC_QUEUE": "sales_new", "CC_SKILLS": "sales,english",
                             "CC_PRIORITY": "7", "CC_CUSTOMER": "0"}
        ivr.hang_up_all()
        await ivr.ended()
        detail = await ivr.ivr_segment(linkedid)
    assert steps(detail) == [("main", "menu"), ("sales", "menu"), ("new_sales", "queue")]
    assert step_of(detail, "main")["key"] == "1" and step_of(detail, "sales")["key"] == "3"
    assert (detail["flow"], detail["outcome"], detail["keys"]) == ("lab-nav", "queue", "13")
    times = [step["t"] for step in detail["path"]]
    assert times == sorted(times) and times[0] < 2.0


async def test_no_key_retries_then_on_fail(lab, sessions):
    async with IvrLab(lab, sessions) as ivr:
        await ivr.call(NAV, "+15552000002", CallerScript(delay=0, hold=15))
        (ended,) = await ivr.ended()
        detail = await ivr.ivr_segment(ended["linkedid"])
    assert steps(detail) == [("main", "menu"), ("goodbye", "hangup")]
    main = step_of(detail, "main")
    assert (main["timeouts"], main["attempts"], main["failed"], main["next"]) == \
        (2, 2, True, "goodbye")
    assert (detail["outcome"], detail["keys"]) == ("hangup", "")
    # Two prompts and two 1.5 s waits before giving up.
    assert step_of(detail, "goodbye")["t"] - main["t"] >= 3.0


async def test_an_invalid_key_is_refused_then_a_valid_one_taken(lab, sessions):
    async with IvrLab(lab, sessions) as ivr:
        await ivr.call(NAV, "+15552000003", CallerScript(keys="9wwww2", delay=1.0, hold=20))
        (queued,) = await ivr.ivr.wait("ivr.queue", timeout=20)
        assert queued["queue"] == "support"
        ivr.hang_up_all()
        await ivr.ended()
        detail = await ivr.ivr_segment(queued["linkedid"])
        row = ivr.interaction(queued["linkedid"])
    main = step_of(detail, "main")
    assert (main["invalid"], main["key"], main["attempts"], main["next"]) == \
        (["9"], "2", 2, "support")
    assert steps(detail) == [("main", "menu"), ("support", "queue")]
    assert detail["keys"] == "92" and detail["outcome"] == "queue"
    assert row.keys_pressed == "92"  # what Asterisk reported agrees with the IVR path


async def test_a_key_during_the_prompt_is_taken_at_once(lab, sessions):
    async with IvrLab(lab, sessions) as ivr:
        # The menu prompt (vm-intro) lasts about 5.7 s; the caller presses 1 after 1 s.
        await ivr.call(BARGE, "+15552000004", CallerScript(keys="1", delay=1.0, hold=20))
        (queued,) = await ivr.ivr.wait("ivr.queue", timeout=20)
        ivr.hang_up_all()
        await ivr.ended()
        detail = await ivr.ivr_segment(queued["linkedid"])
    assert steps(detail) == [("main", "menu"), ("agents", "queue")]
    assert step_of(detail, "main")["key"] == "1"
    assert step_of(detail, "agents")["t"] < 4.0  # well before the prompt would have ended


async def test_a_caller_hanging_up_mid_prompt_still_leaves_the_path(lab, sessions):
    async with IvrLab(lab, sessions) as ivr:
        await ivr.call(BARGE, "+15552000005", CallerScript(delay=0, hold=1.5))
        (ended,) = await ivr.ended()
        detail = await ivr.ivr_segment(ended["linkedid"])
        assert ivr.engine.agi.hung_up == 1 and ivr.engine.agi.errors == 0
    assert steps(detail) == [("main", "menu")]
    assert "key" not in step_of(detail, "main")
    assert (detail["outcome"], detail["flow"]) == ("caller_hung_up", "lab-barge")


async def test_the_chosen_language_is_used_for_the_rest_of_the_call(lab, sessions):
    async with IvrLab(lab, sessions) as ivr:
        await ivr.call(LANGUAGE, "+15552000006", CallerScript(keys="2", delay=1.0, hold=20))
        (queued,) = await ivr.ivr.wait("ivr.queue", timeout=20)
        channel = await ivr.channel_in("ivr-queue", queued["linkedid"])
        ivr.hang_up_all()
        await ivr.ended()
        detail = await ivr.ivr_segment(queued["linkedid"])
    assert channel.language == "de"  # Asterisk's own sounds follow the caller's choice
    pick = step_of(detail, "pick")
    assert (pick["key"], pick["language"], detail["language"]) == ("2", "de", "de")
    assert steps(detail) == [("pick", "language"), ("thanks", "play"), ("agents", "queue")]


async def test_a_number_without_a_menu_hears_no_service(lab, sessions):
    async with IvrLab(lab, sessions) as ivr:
        # ss-noservice lasts about 5 s; this caller does not wait for the end of it.
        await ivr.call(NOBODY, "+15552000007", CallerScript(delay=0, hold=1.5))
        (ended,) = await ivr.ended()
        detail = await ivr.ivr_segment(ended["linkedid"])
    assert detail["flow"] is None and steps(detail) == [("", "noservice")]
    assert detail["outcome"] == "caller_hung_up"
