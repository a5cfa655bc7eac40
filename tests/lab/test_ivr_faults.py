"""Faults inside the IVR on real calls: a node that fails (here a text prompt the
speech synthesiser cannot make) sends the caller to the flow's safest exit, the
first queue, instead of dead air or a dropped call."""
from __future__ import annotations

import shutil
import uuid

import pytest

from callcenter.world import CallerScript

from .ivr_support import IvrLab, prompts_for, step_of, steps

pytestmark = [pytest.mark.lab, pytest.mark.asyncio]

FAULT = "8005550208"


async def test_a_failing_node_hands_the_caller_to_the_first_queue(lab, sessions, caplog,
                                                                  request):
    broken = prompts_for(lab.pbx.root, cache=f"tts-broken-{uuid.uuid4().hex[:8]}",
                         espeak="/nonexistent/espeak-ng")
    request.addfinalizer(lambda: shutil.rmtree(broken.cache_dir, ignore_errors=True))
    async with IvrLab(lab, sessions, prompts=broken) as ivr:
        await ivr.call(FAULT, "+15552000061", CallerScript(hold=20))
        (queued,) = await ivr.ivr.wait("ivr.queue", timeout=20)
        assert queued["queue"] == "sales"
        await ivr.in_queue_context(queued["linkedid"])
        ivr.hang_up_all()
        await ivr.ended()
        detail = await ivr.ivr_segment(queued["linkedid"])
        assert ivr.engine.agi.errors == 0
    assert steps(detail) == [("hello", "play"), ("sales", "queue")]
    assert step_of(detail, "hello")["error"] == "PromptError"
    assert step_of(detail, "sales")["fallback"] is True and detail["outcome"] == "queue"
    assert any("node hello failed" in r.getMessage() for r in caplog.records)
