"""The `callcenter` command against an Asterisk it did not start (mode external):
a lab pbx plays "your own Asterisk", configured only through the environment."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from asterisk_conf import ports
from callcenter.world import CallerScript

from .conftest import world_of

pytestmark = [pytest.mark.lab]
CLI = [sys.executable, "-m", "callcenter.cli"]


def env_for(lab, tmp_path, **extra):
    spec = lab.pbx.spec
    env = dict(os.environ, CALLCENTER_DATA_DIR=str(tmp_path), CALLCENTER_ASTERISK_MODE="external",
               CALLCENTER_ASTERISK_AMI_PORT=str(spec.ami_port),
               CALLCENTER_ASTERISK_AMI_USERNAME=spec.ami_username,
               CALLCENTER_ASTERISK_AMI_SECRET=spec.ami_secret,
               CALLCENTER_AGI_PORT=str(lab.agi_port), CALLCENTER_WEB_PORT=str(ports.free_port()),
               # "your" Asterisk runs in a chroot: prompts are shared through its root
               CALLCENTER_ASTERISK_FILES_ROOT=str(lab.root))
    env.update(extra)
    return env


@pytest.mark.asyncio
async def test_run_against_an_external_asterisk_records_calls(lab, tmp_path):
    env = env_for(lab, tmp_path)
    proc = subprocess.Popen(CLI + ["run", "--no-demo"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, cwd=Path(__file__).parents[2])
    try:
        line = await asyncio.to_thread(proc.stdout.readline)
        while line and "engine linked to Asterisk" not in line:
            line = await asyncio.to_thread(proc.stdout.readline)
        assert "engine linked to Asterisk" in line, "the engine did not come up"
        world = await world_of(lab)
        try:
            await world.place_call("8005550100", "+15551230555", script=CallerScript(keys="9", hold=15))
            for _ in range(200):
                out = subprocess.run(CLI + ["history"], env=env, capture_output=True, text=True).stdout
                if "completed" in out:
                    break
                await asyncio.sleep(0.2)
        finally:
            await world.ami.stop()
        assert "+15551230555" in out and "keys='9'" in out and "completed" in out
    finally:
        proc.send_signal(signal.SIGINT)
        rest = proc.communicate(timeout=30)[0]
    assert proc.returncode == 0 and "callcenter: stopped" in rest


def test_wrong_secret_is_reported_without_a_traceback(lab, tmp_path):
    env = env_for(lab, tmp_path, CALLCENTER_ASTERISK_AMI_SECRET="wrong")
    done = subprocess.run(CLI + ["run", "--no-demo"], env=env, capture_output=True, text=True,
                          timeout=60, cwd=Path(__file__).parents[2])
    assert done.returncode == 2
    assert "refused the login" in done.stderr and "Traceback" not in done.stderr


def test_render_config_for_your_own_asterisk(tmp_path):
    done = subprocess.run(CLI + ["render-config", "--out", str(tmp_path / "conf")],
                          env=dict(os.environ, CALLCENTER_AGI_PORT="4600"),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    files = {p.name: p.read_text() for p in (tmp_path / "conf").iterdir()}
    assert {"pjsip.conf", "extensions.conf", "manager.conf"} <= set(files)
    assert "asterisk.conf" not in files  # your Asterisk keeps its own directories
    assert "AGI(${AGI_BASE}/ivr)" in files["extensions.conf"]
    assert "agi://127.0.0.1:4600" in files["extensions.conf"]
    assert "timestampevents = yes" in files["manager.conf"]
    assert "/lab/" not in "".join(files.values())
