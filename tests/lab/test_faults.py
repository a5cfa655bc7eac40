"""Faults on the real lab: wrong AMI secret, ports taken, Asterisk killed under
the engine, malformed AGI requests, and no orphan Asterisk after a crash."""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from asterisk_conf import ports
from asterisk_conf.lab import LabPorts, Lab
from callcenter.world import CallerScript
from crm_core import interactions
from cti.ami import AmiSession
from cti.ami_errors import AmiAuthError
from cti.fastagi import AgiServerError, FastAgiServer
from ivr.welcome import WelcomeMenu

from .conftest import assert_no_channels_left, engine_for, new_lab, world_of
from .helpers import CallEvents

pytestmark = [pytest.mark.lab]


@pytest.mark.asyncio
async def test_wrong_ami_secret_is_a_clear_error_without_retry_storm(lab):
    spec = lab.pbx.spec
    session = AmiSession(spec.bind_address, spec.ami_port, spec.ami_username, "not-the-secret",
                         start_timeout=10)
    with pytest.raises(AmiAuthError) as err:
        await session.start()
    assert spec.ami_username in str(err.value) and str(spec.ami_port) in str(err.value)
    assert session.logins == 0
    await session.stop()


def test_a_taken_ami_port_is_named_before_asterisk_starts(sandbox_root):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        lab = Lab(sandbox_root, agi_port=ports.free_port(), prefix="taken",
                  ports=LabPorts(**{**vars(LabPorts.free()), "pbx_ami": taken.getsockname()[1]}))
        with pytest.raises(ports.PortInUse, match="taken-pbx: AMI port"):
            lab.start()
    assert not lab.pbx.running and not lab.world.running


@pytest.mark.asyncio
async def test_a_taken_fastagi_port_is_a_clear_error(lab, sessions):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        engine = engine_for(lab, sessions)
        engine.agi = FastAgiServer("127.0.0.1", taken.getsockname()[1], {"ivr": WelcomeMenu().handle})
        with pytest.raises(AgiServerError, match="already in use"):
            await engine.start()


@pytest.mark.asyncio
async def test_malformed_agi_requests_do_not_hurt_real_calls(engine, world, sessions, lab):
    events = CallEvents(engine.bus)
    for junk in (b"\x00\xffgarbage\n\n", b"agi_network_script: nosuch\n\n", b"agi_req"):
        reader, writer = await asyncio.open_connection(lab.host, lab.agi_port)
        writer.write(junk)
        await writer.drain()
        writer.close()
    await world.place_call("8005550100", "+15551230042", script=CallerScript(keys="3", hold=15))
    await events.wait("call.ended", timeout=40)
    await engine.history.flush(timeout=10)
    with sessions() as s:
        (row,) = interactions.recent(s)
    assert (row.keys_pressed, row.status) == ("3", "completed")
    assert engine.agi.rejected >= 3


@pytest.mark.asyncio
async def test_asterisk_killed_under_the_engine(sandbox_root, sessions):
    """The call in progress stays in the history (closed as lost), the engine
    reconnects to the restarted Asterisk by itself, and the next call is recorded."""
    lab = new_lab(sandbox_root)
    lab.start()
    try:
        engine = engine_for(lab, sessions)
        await engine.start()
        world = await world_of(lab)
        events = CallEvents(engine.bus)
        await world.place_call("8005550100", "+15551230077", script=CallerScript(keys="", hold=60))
        (answered,) = await events.wait("call.answered", timeout=30)
        await engine.history.flush(timeout=10)

        await asyncio.to_thread(lab.pbx.kill)
        lab.world.rx("channel request hangup all")
        for _ in range(100):
            if not engine.ami.connected:
                break
            await asyncio.sleep(0.05)
        assert not engine.ami.connected
        await asyncio.to_thread(lab.pbx.start)
        assert await engine.ami.wait_connected(timeout=30)
        await events.wait("call.lost", timeout=15)
        await engine.history.flush(timeout=10)
        with sessions() as s:
            row = interactions.by_linkedid(s, answered["linkedid"])
        assert row.status == "lost" and row.answered_at is not None and row.ended_at is not None
        assert "no AMI link" in row.hangup_cause_text
        assert engine.ami.reconnects >= 1

        # Desk phones re-register to the new Asterisk; the engine hears of it.
        await asyncio.to_thread(lab.world.rx, "pjsip send register *all")
        for _ in range(100):
            if all(engine.endpoints.get(p) and engine.endpoints.get(p).registered for p in lab.phones):
                break
            await asyncio.sleep(0.1)
        assert all(engine.endpoints.get(p).registered for p in lab.phones)
        await world.place_call("8005550100", "+15551230078", script=CallerScript(keys="5", hold=15))
        await events.wait("call.ended", timeout=40)
        await engine.history.flush(timeout=10)
        with sessions() as s:
            rows = {r.caller_number: r for r in interactions.recent(s)}
        assert rows["+15551230078"].status == "completed" and rows["+15551230078"].keys_pressed == "5"
        await world.ami.stop()
        await engine.stop()
        assert_no_channels_left(lab.pbx, lab.world)
    finally:
        lab.stop()


CHILD = """
import sys, time
from asterisk_conf.lab import Lab, LabPorts
from asterisk_conf import ports
lab = Lab(sys.argv[1], agi_port=ports.free_port(), ports=LabPorts.free(), prefix=sys.argv[2])
lab.pbx.start()
print(lab.pbx.pid, flush=True)
time.sleep(120)
"""


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT])
def test_no_orphan_asterisk_when_the_platform_dies(sandbox_root, how):
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(sandbox_root), f"orphan{how}"],
                             stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2])
    asterisk_pid = int(child.stdout.readline())
    assert Path(f"/proc/{asterisk_pid}").exists()
    child.send_signal(how)
    child.wait(timeout=20)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{asterisk_pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = Path(f"/proc/{asterisk_pid}/status").exists() and "zombie" not in \
        Path(f"/proc/{asterisk_pid}/status").read_text()
    if alive:
        os.kill(asterisk_pid, signal.SIGKILL)
    assert not alive, f"Asterisk {asterisk_pid} outlived its platform ({how.name})"
