"""The web console in headless Chromium against the platform on the lab: an
agent signs in, takes a seat and goes ready, a caller dials in over real SIP,
the pop shows the right customer (in every tab, after a reload too), the agent
writes a disposition (by its key) and notes, puts the caller on hold and back,
and the CRM holds it all; a supervisor sees the call on the wallboard and
listens in from their own phone. A shared number is picked, an unknown caller
created from the pop. Screenshots: tests/artifacts/."""
from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import expect

from callcenter.world import CallerScript

from .browser_support import ConsoleStack, screenshot
from .helpers import AmiEvents

pytestmark = [pytest.mark.asyncio, pytest.mark.browser, pytest.mark.timeout(240)]
ALAN = "+15551230002"  # demo customer with an open ticket: the IVR sends him to support
DID = "8005550100"
EVIL_NAME = "<script>alert(1)</script> 康拉德 Zuse"


async def seat_and_ready(page, seat: str) -> None:
    await page.fill("#seat", seat)
    await page.click("#btn-seat")
    await expect(page.locator("#state")).to_have_text("not ready", timeout=10_000)
    await page.click("#btn-ready")
    await expect(page.locator("#state")).to_have_text("ready", timeout=10_000)


async def test_an_agent_takes_a_call_from_pop_to_wrap_up(lab, tmp_path):
    async with ConsoleStack(lab, tmp_path) as stack:
        agent = await stack.signed_in("agent")
        assert agent.url.endswith("/agent")
        supervisor = await stack.signed_in("supervisor")
        assert supervisor.url.endswith("/wallboard")
        await seat_and_ready(agent, "1001")
        await expect(supervisor.locator('tr[data-agent="agent"] td.state')).to_have_text(
            "ready", timeout=5_000)

        spying = AmiEvents(stack.engine.ami, "ChanSpyStart")
        await stack.world.place_call(DID, ALAN, "Alan Turing", CallerScript(delay=1, hold=40))
        name = agent.locator("#pop-customer-name")
        await expect(name).to_contain_text("Alan Turing", timeout=30_000)
        await expect(agent.locator("#pop-facts")).to_contain_text("identify")
        await expect(agent.locator("#pop-customer")).to_contain_text("Enigma rotor replacement")
        await expect(agent.locator("#pop-phase")).to_contain_text("talking", timeout=15_000)
        await expect(agent.locator("#state")).to_have_text("on call")
        linkedid = await agent.locator("#pop").get_attribute("data-linkedid")

        # The supervisor sees who the agent talks to.
        row = supervisor.locator('tr[data-agent="agent"]')
        await expect(row.locator("td.state")).to_have_text("on call", timeout=5_000)
        await expect(row).to_contain_text(ALAN)
        await screenshot(supervisor, "wallboard-agent-on-call")

        # The supervisor listens in from their own phone (seat 1003).
        await supervisor.fill("#monitor-seat", "1003")
        await row.locator('button[data-mode="listen"]').click()
        await expect(supervisor.locator("#monitor-status")).to_contain_text(
            "started: listen agent", timeout=15_000)
        spy = await spying.wait("ChanSpyStart", timeout=10)
        assert spy.get("SpyerChannel", "").startswith("PJSIP/1003-")
        assert spy.get("SpyeeChannel", "").startswith("PJSIP/1001-")

        # The support queue records every call: pause it while a card number is read out.
        await expect(agent.locator("#recording-state")).to_have_text("● Recording",
                                                                     timeout=10_000)
        await agent.click("#btn-record-pause")
        await expect(agent.locator("#recording-state")).to_have_text("Recording paused",
                                                                     timeout=10_000)
        await agent.click("#btn-record-resume")
        await expect(agent.locator("#recording-state")).to_have_text("● Recording",
                                                                     timeout=10_000)

        # Hold and resume from the console: the caller hears music meanwhile.
        await agent.click("#btn-hold")
        await expect(agent.locator("#state")).to_have_text("on hold", timeout=10_000)
        await expect(agent.locator("#pop-phase")).to_contain_text("on hold")
        await expect(supervisor.locator('tr[data-agent="agent"] td.state')).to_have_text("on hold")
        await agent.click("#btn-resume")
        await expect(agent.locator("#state")).to_have_text("on call", timeout=10_000)

        # A second tab and a reload show the same pop.
        tab = await stack.new_tab(agent)
        await expect(tab.locator("#pop-customer-name")).to_contain_text("Alan Turing")
        await agent.reload()
        await expect(agent.locator("#pop-customer-name")).to_contain_text("Alan Turing")

        # Key 2 picks the second disposition, but not while typing in the notes.
        buttons = agent.locator(".dispositions button")
        second_code = await buttons.nth(1).get_attribute("data-code")
        await agent.locator("body").press("2")
        await expect(buttons.nth(1)).to_have_attribute("aria-pressed", "true")
        await agent.click("#notes")
        await agent.keyboard.type("Asked about rotor 3. 王先生 called too.")
        await expect(buttons.nth(1)).to_have_attribute("aria-pressed", "true")
        await expect(agent.locator("#notes-saved")).to_have_text("notes saved", timeout=5_000)
        await expect(tab.locator("#notes")).to_have_value("Asked about rotor 3. 王先生 called too.")
        await screenshot(agent, "console-pop-talking")
        await agent.click("#btn-save-wrap-up")
        await expect(agent.locator("#wrap-up-saved")).to_have_text(f"Saved: {second_code}")
        await expect(tab.locator("#wrap-up-saved")).to_have_text(f"Saved: {second_code}")

        saved = stack.interaction(linkedid)
        assert saved.disposition_code == second_code
        assert saved.notes == "Asked about rotor 3. 王先生 called too."
        assert saved.customer_id is not None

        # The call ends (the caller hangs up): wrap-up, and the notes stay editable.
        await expect(agent.locator("#pop-phase")).to_have_text("ended", timeout=60_000)
        await expect(agent.locator("#state")).to_have_text(re.compile("wrap up|ready"))
        await agent.fill("#notes", "Asked about rotor 3. Promised a call back.")
        await expect(agent.locator("#notes-saved")).to_have_text("notes saved", timeout=5_000)
        assert stack.interaction(linkedid).notes == "Asked about rotor 3. Promised a call back."
        await expect(agent.locator("#recent")).to_contain_text("+15551230002")
        await screenshot(agent, "console-after-call")

        # The recording is published: the supervisor plays it on the call's page, seeking
        # (an HTTP range request) works.
        row = stack.interaction(linkedid)
        player = supervisor.locator("audio")
        for _ in range(60):
            await supervisor.goto(f"{stack.url}/crm/interactions/{row.id}")
            if await player.count():
                break
            await asyncio.sleep(0.5)
        await expect(player).to_have_count(1)
        await expect(supervisor.locator("#h-recordings + article")).to_contain_text("Paused")
        source = await player.get_attribute("src")
        status = await supervisor.evaluate(
            "src => fetch(src, {headers: {Range: 'bytes=0-99'}}).then(r => r.status)", source)
        assert status == 206
        await screenshot(supervisor, "interaction-with-recording")


async def test_a_shared_number_is_picked_and_an_unknown_caller_created(lab, tmp_path):
    async with ConsoleStack(lab, tmp_path) as stack:
        agent = await stack.signed_in("agent")
        await seat_and_ready(agent, "1001")

        # The Bletchley office line belongs to the company and to Alan Turing: pick.
        await stack.world.place_call(DID, "+442079460958", "Bletchley", CallerScript(
            keys="1", delay=2, hold=12))
        matches = agent.locator("#pop-matches button.pick")
        await expect(matches).to_have_count(2, timeout=30_000)
        await expect(agent.locator("#pop-matches")).to_contain_text("Several customers")
        await screenshot(agent, "console-pop-shared-number")
        await agent.locator("#pop-matches button.pick", has_text="Alan Turing").click()
        await expect(agent.locator("#pop-customer-name")).to_contain_text("Alan Turing")
        shared = await agent.locator("#pop").get_attribute("data-linkedid")
        await expect(agent.locator("#pop-phase")).to_have_text("ended", timeout=60_000)
        assert stack.interaction(shared).customer_id is not None

        # An unknown caller: create the customer (duplicate check first), back to the pop.
        await expect(agent.locator("#state")).to_have_text("ready", timeout=30_000)
        await stack.world.place_call("8005550199", "+4930123456", "", CallerScript(
            keys="2", delay=2, hold=25))
        await expect(agent.locator("#pop-unknown")).to_be_visible(timeout=30_000)
        unknown = await agent.locator("#pop").get_attribute("data-linkedid")
        await agent.click("#pop-create")
        await expect(agent.locator("#phone-0")).to_have_value("+4930123456")
        dialogs = []
        agent.on("dialog", lambda dialog: dialogs.append(dialog.message))
        await agent.fill("#name", EVIL_NAME)
        await agent.locator("button[type=submit]", has_text="Create").click()
        await agent.wait_for_url("**/agent")
        name = agent.locator("#pop-customer-name a")
        await expect(name).to_have_text(EVIL_NAME, timeout=10_000)  # text, never markup
        assert await agent.locator("#pop-customer-name script").count() == 0
        assert dialogs == []
        await screenshot(agent, "console-unknown-caller-created")
        row = stack.interaction(unknown)
        assert row is not None and row.customer_id is not None


async def test_an_attended_transfer_moves_the_pop_and_click_to_dial_calls_out(lab, tmp_path):
    async with ConsoleStack(lab, tmp_path) as stack:
        # agent2 (support=9) takes Alan's call; agent (support=5) is the colleague asked.
        first = await stack.signed_in("agent2")
        colleague = await stack.signed_in("agent")
        await seat_and_ready(first, "1002")
        await seat_and_ready(colleague, "1001")
        await stack.world.place_call(DID, ALAN, "Alan Turing", CallerScript(delay=1, hold=60))
        await expect(first.locator("#pop-customer-name")).to_contain_text("Alan Turing",
                                                                          timeout=30_000)
        await expect(first.locator("#pop-phase")).to_contain_text("talking", timeout=15_000)
        linkedid = await first.locator("#pop").get_attribute("data-linkedid")

        await first.select_option("#transfer-kind", "agent")
        await first.fill("#transfer-target", "agent")
        await first.check("#transfer-attended")
        await first.click("#btn-transfer")
        await expect(first.locator("#pop-phase")).to_contain_text("consulting", timeout=10_000)
        # The colleague's console pops the same customer, saying who asks.
        await expect(colleague.locator("#pop-customer-name")).to_contain_text("Alan Turing",
                                                                              timeout=15_000)
        await expect(colleague.locator("#pop-facts")).to_contain_text("agent2")
        await expect(colleague.locator("#pop-phase")).to_contain_text("talking", timeout=15_000)
        await expect(first.locator("#consult-buttons")).to_be_visible()
        await screenshot(colleague, "console-consulted-agent")
        await first.click("#btn-complete")
        await expect(first.locator("#pop-phase")).to_have_text("transferred", timeout=10_000)
        await expect(colleague.locator("#state")).to_have_text("on call")
        await expect(first.locator("#state")).to_have_text(re.compile("wrap up|ready"),
                                                           timeout=10_000)
        kinds = []
        for _ in range(50):
            kinds = [segment.kind for segment in stack.segments(linkedid)]
            if "transfer" in kinds and kinds.count("agent") >= 1:
                break
            await asyncio.sleep(0.2)
        assert "transfer" in kinds

        # Click-to-dial from the console, while in wrap-up: Ada's card pops on the call out.
        await expect(first.locator("#state")).to_have_text("wrap up", timeout=10_000)
        carrier = AmiEvents(stack.world.ami, "UserEvent")
        await first.fill("#dial-number", "+15551230001")
        await first.click("#btn-dial")
        await expect(first.locator("#pop-direction")).to_have_text("Calling", timeout=15_000)
        await expect(first.locator("#pop-customer-name")).to_contain_text("Ada Lovelace")
        outbound = await first.locator("#pop").get_attribute("data-linkedid")
        event = await carrier.wait("UserEvent", timeout=20, user_event="CarrierCall")
        assert event.get("Number") == "+15551230001"
        await expect(first.locator("#pop-phase")).to_have_text("ended", timeout=30_000)
        for _ in range(50):
            row = stack.interaction(outbound)
            if row is not None and row.status == "completed":
                break
            await asyncio.sleep(0.2)
        assert row.direction == "outbound" and row.dialled_number == "+15551230001"
        assert row.customer_id is not None and row.agent_id is not None
