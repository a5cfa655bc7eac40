"""The Asterisk sandbox: a Debian unstable root with Asterisk 22 in it.

Debian 12 ships no Asterisk, so the platform builds its own with debootstrap
(see shared/LAB.md). The root lives outside the repository and is reused.

A root is built in ``<root>.partial`` and renamed into place only when it is
complete, so a build that was interrupted can never be mistaken for a good one:
the next build throws the partial folder away and starts again.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

PACKAGES = (
    "asterisk",
    "asterisk-modules",
    "asterisk-core-sounds-en-gsm",
    "asterisk-moh-opsound-gsm",
)
SUITE = "sid"
MARKER = ".callcenter-sandbox"  # written last: its presence means "complete"

# Folders the Debian package gives to its `asterisk` user; Asterisk run as root
# in the sandbox refuses them ("modules.conf invalid", "ASTdb initialization failed").
ASTERISK_DIRS = (
    "etc/asterisk",
    "var/lib/asterisk",
    "var/spool/asterisk",
    "var/log/asterisk",
    "usr/share/asterisk",
)


class SandboxError(RuntimeError):
    """The sandbox cannot be built or used; the message says what to do."""


def default_root() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "callcenter" / "asterisk-root"


@dataclass(frozen=True)
class SandboxState:
    root: Path
    status: str  # "complete", "missing", "partial" or "broken"
    detail: str = ""


def inspect(root: Path) -> SandboxState:
    """Say whether ``root`` holds a usable sandbox, without changing anything."""
    partial = _partial_path(root)
    if (root / MARKER).is_file():
        missing = [p for p in ("usr/sbin/asterisk", "bin/sh") if not (root / p).exists()]
        if missing:
            return SandboxState(root, "broken", f"marked complete but {', '.join(missing)} missing")
        return SandboxState(root, "complete")
    if root.exists():
        return SandboxState(root, "broken", f"{root} exists but was not built by callcenter")
    if partial.exists():
        return SandboxState(root, "partial", f"an interrupted build was left in {partial}")
    return SandboxState(root, "missing")


def ensure(root: Path | None = None, *, debootstrap: str = "debootstrap",
           mirror: str | None = None, log=print) -> Path:
    """Return a complete sandbox root, building it when needed (idempotent)."""
    root = Path(root or default_root())
    state = inspect(root)
    if state.status == "complete":
        return root
    if state.status == "broken":
        raise SandboxError(
            f"Asterisk sandbox {root} is unusable: {state.detail}. "
            f"Remove it (rm -rf {root}) and run again, or set asterisk.sandbox_root elsewhere.")
    _check_can_build(debootstrap)
    if state.status == "partial":
        log(f"sandbox: discarding an interrupted build ({state.detail})")
    _build(root, debootstrap, mirror, log)
    return root


def _partial_path(root: Path) -> Path:
    return root.with_name(root.name + ".partial")


def _check_can_build(debootstrap: str) -> None:
    if os.geteuid() != 0:
        raise SandboxError(
            "Building the Asterisk sandbox needs root (debootstrap and chroot). "
            "Run as root, or point the platform at your own Asterisk 18+ "
            "(asterisk.mode = external in the configuration).")
    if shutil.which(debootstrap) is None:
        raise SandboxError(
            f"'{debootstrap}' was not found. Install it with: apt-get install -y debootstrap")


def _build(root: Path, debootstrap: str, mirror: str | None, log) -> None:
    partial = _partial_path(root)
    _unmount_proc(partial)
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    cmd = [debootstrap, "--variant=minbase", "--include=" + ",".join(PACKAGES), SUITE, str(partial)]
    if mirror:
        cmd.append(mirror)
    log(f"sandbox: building Asterisk root in {root} (about a minute, ~500 MB)")
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0:
        tail = "\n".join(done.stdout.splitlines()[-15:])
        raise SandboxError(
            f"debootstrap failed with exit code {done.returncode}; the partial root is left in "
            f"{partial} and will be discarded on the next try.\n{tail}")
    _fix_ownership(partial)
    (partial / MARKER).write_text(" ".join(PACKAGES) + "\n")
    partial.rename(root)
    log(f"sandbox: ready ({asterisk_version(root)})")


def _fix_ownership(root: Path) -> None:
    for rel in ASTERISK_DIRS:
        top = root / rel
        if not top.exists():
            continue
        for dirpath, dirnames, filenames in os.walk(top):
            for name in [dirpath, *(os.path.join(dirpath, n) for n in dirnames + filenames)]:
                os.lchown(name, 0, 0)


def asterisk_version(root: Path) -> str:
    out = subprocess.run(["chroot", str(root), "/usr/sbin/asterisk", "-V"],
                         capture_output=True, text=True, timeout=30)
    return out.stdout.strip() or out.stderr.strip()


# -- /proc inside the root --------------------------------------------------

def proc_mounted(root: Path) -> bool:
    target = os.path.realpath(root / "proc")
    with open("/proc/mounts") as mounts:
        return any(line.split()[1] == target for line in mounts if len(line.split()) > 1)


def mount_proc(root: Path) -> None:
    """Asterisk inside the chroot needs /proc; mount it once per root."""
    if proc_mounted(root):
        return
    (root / "proc").mkdir(exist_ok=True)
    done = subprocess.run(["mount", "-t", "proc", "proc", str(root / "proc")],
                          capture_output=True, text=True)
    if done.returncode != 0 and not proc_mounted(root):
        raise SandboxError(f"cannot mount /proc in {root}: {done.stderr.strip()}")


def _unmount_proc(root: Path) -> None:
    if root.exists() and proc_mounted(root):
        subprocess.run(["umount", "-l", str(root / "proc")], capture_output=True)


def release_proc(root: Path) -> None:
    """Unmount /proc when no process runs inside the root any more."""
    if not processes_in_root(root):
        _unmount_proc(root)


def processes_in_root(root: Path) -> list[int]:
    """PIDs of processes whose root directory is ``root`` (our Asterisks)."""
    real = os.path.realpath(root)
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{entry}/root") == real:
                pids.append(int(entry))
        except OSError:
            continue
    return pids
