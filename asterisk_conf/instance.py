"""Run one Asterisk instance inside the sandbox, under the platform's control.

Asterisk runs in the foreground (``-f``) as our child: it is started with a
parent-death signal so that it dies with us even if we are killed, a stale one
left by a crashed run is killed before a new start, and ``stop()`` asks for a
graceful stop before it kills.
"""
from __future__ import annotations

import atexit
import ctypes
import os
import signal
import subprocess
import time
import weakref
from pathlib import Path

from . import ports, sandbox
from .render import InstanceSpec, render

_PR_SET_PDEATHSIG = 1
_running: "weakref.WeakSet[AsteriskInstance]" = weakref.WeakSet()


class AsteriskError(RuntimeError):
    """Asterisk would not start or answer; the message carries its last log lines."""


def _die_with_parent() -> None:  # runs in the child between fork and exec
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class AsteriskInstance:
    def __init__(self, root: Path, spec: InstanceSpec):
        self.root = Path(root)
        self.spec = spec
        self.inst_dir = f"/lab/{spec.name}"  # as Asterisk sees it, inside the chroot
        self.host_dir = self.root / "lab" / spec.name  # the same folder, from outside
        self.proc: subprocess.Popen | None = None

    # -- paths -------------------------------------------------------------
    @property
    def conf_path(self) -> str:
        return f"{self.inst_dir}/etc/asterisk.conf"

    def log_tail(self, lines: int = 20) -> str:
        texts = []
        for name in ("messages.log", "console.log"):
            path = self.host_dir / "log" / name
            if path.exists():
                texts += path.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(texts)

    # -- lifecycle ---------------------------------------------------------
    def write_config(self) -> None:
        for sub in ("etc", "lib", "spool", "run", "log", "cache"):
            (self.host_dir / sub).mkdir(parents=True, exist_ok=True)
        for name, text in render(self.spec, self.inst_dir).items():
            path = self.host_dir / "etc" / name
            path.write_text(text)
            os.chmod(path, 0o600)  # holds secrets

    def start(self, timeout: float = 60.0) -> None:
        if self.running:
            return
        self._kill_stale()
        self._check_ports()
        self.write_config()
        sandbox.mount_proc(self.root)
        console = open(self.host_dir / "log" / "console.log", "ab")
        cmd = ["chroot", str(self.root), "/usr/sbin/asterisk", "-C", self.conf_path,
               "-f", "-U", "root", "-G", "root"]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=console,
                                     stderr=subprocess.STDOUT, preexec_fn=_die_with_parent,
                                     start_new_session=True)  # Ctrl-C reaches us, not it
        console.close()
        _running.add(self)
        try:
            self._wait_fully_booted(timeout)
        except BaseException:
            self.kill()
            raise

    def _check_ports(self) -> None:
        s = self.spec
        ports.require_free(s.bind_address, s.ami_port, "tcp", f"{s.name}: AMI port (ami_port)")
        ports.require_free(s.bind_address, s.sip_port, "udp", f"{s.name}: SIP port (sip_port)")

    def _wait_fully_booted(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AsteriskError(f"Asterisk {self.spec.name} exited with code "
                                    f"{self.proc.returncode} while starting:\n{self.log_tail()}")
            if (self.host_dir / "run" / "asterisk.ctl").exists():
                out = self.rx("core waitfullybooted", timeout=max(1.0, deadline - time.monotonic()),
                              check=False)
                if "fully booted" in out.lower():
                    return
            time.sleep(0.1)
        raise AsteriskError(f"Asterisk {self.spec.name} did not boot within {timeout:.0f} s:\n"
                            f"{self.log_tail()}")

    def rx(self, command: str, timeout: float = 10.0, check: bool = True) -> str:
        """Run a CLI command on the running instance (asterisk -rx)."""
        cmd = ["chroot", str(self.root), "/usr/sbin/asterisk", "-C", self.conf_path, "-rx", command]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            if check:
                raise AsteriskError(f"'{command}' on {self.spec.name} timed out")
            return ""
        if check and done.returncode != 0:
            raise AsteriskError(f"'{command}' on {self.spec.name} failed: {done.stderr.strip()}")
        return done.stdout

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.running else None

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful stop (calls end as Asterisk ends them), then kill after ``timeout``."""
        if self.running:
            self.rx("core stop gracefully", timeout=timeout, check=False)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._after_exit()

    def kill(self) -> None:
        """Kill at once (also what a crashed Asterisk looks like to the engine)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._after_exit()

    def _after_exit(self) -> None:
        _running.discard(self)
        sandbox.release_proc(self.root)

    def _kill_stale(self) -> None:
        """Kill an Asterisk of this instance left behind by a crashed run."""
        pidfile = self.host_dir / "run" / "asterisk.pid"
        if not pidfile.exists():
            return
        try:
            pid = int(pidfile.read_text().strip())
        except ValueError:
            return
        # The pid file holds the pid as seen in our namespace (no pid namespace).
        if pid in sandbox.processes_in_root(self.root) and _cmdline_has(pid, self.conf_path):
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid)
        pidfile.unlink(missing_ok=True)
        (self.host_dir / "run" / "asterisk.ctl").unlink(missing_ok=True)


def _cmdline_has(pid: int, text: str) -> bool:
    try:
        return text in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False


def _wait_gone(pid: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        time.sleep(0.05)


@atexit.register
def _stop_all() -> None:
    for inst in list(_running):
        inst.kill()
