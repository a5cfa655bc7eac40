"""Rendering the Asterisk configuration, the sandbox's states, ports (no Asterisk run)."""
import socket

import pytest

from asterisk_conf import ports, sandbox
from asterisk_conf.lab import Lab, LabPorts
from asterisk_conf.render import InstanceSpec, render


def lab(tmp_path):
    return Lab(tmp_path, agi_port=4599, ports=LabPorts(5061, 5039, 20000, 5071, 5040, 21000))


def test_every_instance_writes_only_into_its_own_folder(tmp_path):
    files = render(lab(tmp_path).pbx.spec, "/lab/x-pbx")
    conf = files["asterisk.conf"]
    for key in ("astetcdir", "astvarlibdir", "astdbdir", "astspooldir", "astrundir", "astlogdir"):
        line = next(l for l in conf.splitlines() if l.startswith(key))
        assert "/lab/x-pbx/" in line
    assert "[directories]\n" in conf  # not a template section: Asterisk would ignore it


def test_pbx_and_world_agree_on_ports_and_credentials(tmp_path):
    l = lab(tmp_path)
    pbx = render(l.pbx.spec, "/lab/p")
    world = render(l.world.spec, "/lab/w")
    carrier = l.pbx.spec.extra["carrier"]
    assert f"password = {carrier.password}" in pbx["pjsip.conf"]
    assert f"password = {carrier.password}" in world["pjsip.conf"]
    assert "bind = 127.0.0.1:5061" in pbx["pjsip.conf"] and "contact = sip:127.0.0.1:5071" in pbx["pjsip.conf"]
    assert "server_uri = sip:127.0.0.1:5061" in world["pjsip.conf"]
    assert "agi://127.0.0.1:4599" in pbx["extensions.conf"]
    assert "rtpstart = 20000" in pbx["rtp.conf"] and "rtpstart = 21000" in world["rtp.conf"]
    assert "port = 5039" in pbx["manager.conf"] and f"secret = {l.pbx.spec.ami_secret}" in pbx["manager.conf"]


def test_secrets_are_generated_per_lab(tmp_path):
    a, b = lab(tmp_path), lab(tmp_path)
    assert a.pbx.spec.ami_secret != b.pbx.spec.ami_secret
    assert a.pbx.spec.extra["carrier"].password != b.pbx.spec.extra["carrier"].password
    assert len(a.pbx.spec.ami_secret) == 32


def test_pbx_dialplan_never_interpolates_caller_controlled_values(tmp_path):
    dialplan = render(lab(tmp_path).pbx.spec, "/lab/p")["extensions.conf"]
    assert "${CALLERID" not in dialplan and "${EXTEN}" not in dialplan


def test_unknown_role_is_refused():
    with pytest.raises(ValueError, match="unknown Asterisk role"):
        render(InstanceSpec("x", "fax", 1, 2, 3, 4), "/lab/x")


def test_sandbox_states(tmp_path):
    root = tmp_path / "root"
    assert sandbox.inspect(root).status == "missing"
    (tmp_path / "root.partial").mkdir()
    assert sandbox.inspect(root).status == "partial"
    root.mkdir()
    assert sandbox.inspect(root).status == "broken"  # not ours: never reused blindly
    (root / sandbox.MARKER).write_text("x")
    state = sandbox.inspect(root)
    assert state.status == "broken" and "usr/sbin/asterisk" in state.detail
    (root / "usr/sbin").mkdir(parents=True)
    (root / "usr/sbin/asterisk").write_text("")
    (root / "bin").mkdir()
    (root / "bin/sh").write_text("")
    assert sandbox.inspect(root).status == "complete"
    assert sandbox.ensure(root) == root  # complete: reused, nothing run


def test_a_failed_build_is_never_marked_complete(tmp_path):
    root = tmp_path / "root"
    (tmp_path / "root.partial").mkdir()
    (tmp_path / "root.partial" / "junk").write_text("half a build")
    # A debootstrap that dies half-way: it writes into the target, then fails.
    dies = tmp_path / "dying-debootstrap"
    dies.write_text('#!/bin/sh\nfor a; do t="$a"; done\nmkdir -p "$t/usr"\necho "E: out of disk"; exit 1\n')
    dies.chmod(0o755)
    with pytest.raises(sandbox.SandboxError, match="(?s)debootstrap failed.*out of disk"):
        sandbox.ensure(root, debootstrap=str(dies), log=lambda *_: None)
    assert not root.exists() and sandbox.inspect(root).status == "partial"
    assert not (tmp_path / "root.partial" / "junk").exists()  # the old half was discarded


def test_missing_debootstrap_says_how_to_install(tmp_path):
    with pytest.raises(sandbox.SandboxError, match="apt-get install -y debootstrap"):
        sandbox.ensure(tmp_path / "root", debootstrap="no-such-debootstrap")


def test_broken_root_is_refused_with_the_fix(tmp_path):
    (tmp_path / "root").mkdir()
    with pytest.raises(sandbox.SandboxError, match="rm -rf"):
        sandbox.ensure(tmp_path / "root")


def test_port_in_use_names_the_setting():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(ports.PortInUse, match=f"asterisk.ami_port: port {port}/tcp"):
            ports.require_free("127.0.0.1", port, "tcp", "asterisk.ami_port")
    start = ports.free_udp_range(count=10)
    assert start % 2 == 0
