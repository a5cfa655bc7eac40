"""The lab: the platform's "pbx" Asterisk and a "world" Asterisk (carrier and
desk phones) from asterisk_conf/, on free ports, talking real SIP on loopback.

Every lab test ends by checking that no channel is left on either instance.
"""
from __future__ import annotations

import itertools
import os
import time

import pytest
import pytest_asyncio

from asterisk_conf import ports, sandbox
from asterisk_conf.lab import Lab, LabPorts, wait_registered
from callcenter.engine import AmiAddress, Engine
from callcenter.world import World
from crm_core import db, migrate
from cti.ami import AmiSession
from ivr.welcome import WelcomeMenu

pytestmark = pytest.mark.lab
_labs = itertools.count(1)


def new_lab(root, **kwargs) -> Lab:
    # Instances are folders named by the prefix: two test runs at once (a
    # developer's and CI's, say) must not share them.
    prefix = f"{os.environ.get('CALLCENTER_LAB_PREFIX', 't')}{next(_labs)}"
    return Lab(root, agi_port=ports.free_port(), ports=LabPorts.free(), prefix=prefix, **kwargs)


@pytest.fixture(scope="session")
def sandbox_root():
    return sandbox.ensure()


@pytest.fixture(scope="module")
def lab(sandbox_root):
    lab = new_lab(sandbox_root)
    lab.start()
    # The world's AstDB outlives a lab of the same name: phones answer and the
    # carrier hangs up as by default unless a test says otherwise.
    for family in ("noanswer", "talk", "tone"):
        lab.world.rx(f"database deltree {family}", check=False)
    wait_registered(lab)
    yield lab
    lab.stop()


def channels_left(instance) -> int:
    out = instance.rx("core show channels count", check=False)
    for line in out.splitlines():
        if "active channel" in line:
            return int(line.split()[0])
    return -1 if not instance.running else 0


def assert_no_channels_left(*instances, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        left = {i.spec.name: channels_left(i) for i in instances if i.running}
        if not any(left.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert not any(left.values()), f"channels left behind: {left}"


@pytest.fixture(autouse=True)
def no_channels_left(request):
    yield
    if "lab" in request.fixturenames:
        lab = request.getfixturevalue("lab")
        assert_no_channels_left(lab.pbx, lab.world)


def make_sessions(tmp_path):
    engine = db.make_engine(db.sqlite_url(tmp_path / "crm.db"))
    migrate.upgrade(engine)
    return db.session_factory(engine)


def engine_for(lab: Lab, sessions, ring_seconds: float = 0.3) -> Engine:
    spec = lab.pbx.spec
    return Engine(AmiAddress(spec.bind_address, spec.ami_port, spec.ami_username, spec.ami_secret),
                  sessions, agi_host=lab.host, agi_port=lab.agi_port,
                  ivr=WelcomeMenu(ring_seconds=ring_seconds, timeout_ms=4000), start_timeout=10)


@pytest.fixture
def sessions(tmp_path):
    return make_sessions(tmp_path)


@pytest_asyncio.fixture
async def engine(lab, sessions):
    eng = engine_for(lab, sessions)
    await eng.start()
    yield eng
    await eng.stop()


async def world_of(lab: Lab) -> World:
    spec = lab.world.spec
    ami = AmiSession(spec.bind_address, spec.ami_port, spec.ami_username, spec.ami_secret,
                     start_timeout=10)
    await ami.start()
    return World(ami)


@pytest_asyncio.fixture
async def world(lab):
    w = await world_of(lab)
    yield w
    await w.ami.stop()
