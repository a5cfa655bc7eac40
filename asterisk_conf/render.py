"""Render the Asterisk configuration of one instance from the templates."""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

TEMPLATES = Path(__file__).with_name("templates")

# The files every instance gets, and the role-specific ones (file -> template).
COMMON_FILES = {
    "asterisk.conf": "asterisk.conf.j2",
    "modules.conf": "modules.conf.j2",
    "logger.conf": "logger.conf.j2",
    "rtp.conf": "rtp.conf.j2",
    "manager.conf": "manager.conf.j2",
    "cdr.conf": "cdr.conf.j2",
    "queues.conf": "queues.conf.j2",
    "musiconhold.conf": "musiconhold.conf.j2",
}
ROLE_FILES = {
    "pbx": {
        "pjsip.conf": "pjsip.pbx.conf.j2",
        "extensions.conf": "extensions.pbx.conf.j2",
        "voicemail.conf": "voicemail.conf.j2",
    },
    "world": {
        "pjsip.conf": "pjsip.world.conf.j2",
        "extensions.conf": "extensions.world.conf.j2",
    },
}
# What a user's own Asterisk needs from us (it keeps its own asterisk.conf etc.).
EXTERNAL_FILES = ("pjsip.conf", "extensions.conf", "manager.conf", "queues.conf",
                  "musiconhold.conf", "voicemail.conf")


def new_secret() -> str:
    return secrets.token_hex(16)


@dataclass(frozen=True)
class Peer:
    """A SIP peer's address and credentials as one side sees the other."""
    host: str
    port: int
    username: str = ""
    password: str = ""


@dataclass(frozen=True)
class Phone:
    name: str
    password: str


@dataclass
class InstanceSpec:
    """Everything that makes one Asterisk instance different from another."""
    name: str
    role: str  # "pbx" or "world"
    sip_port: int
    ami_port: int
    rtp_start: int
    rtp_end: int
    bind_address: str = "127.0.0.1"
    ami_username: str = "callcenter"
    ami_secret: str = field(default_factory=new_secret)
    debug_log: bool = False
    extra: dict = field(default_factory=dict)  # role-specific: carrier, phones, agi_port ...

    def context(self, inst_dir: str) -> dict:
        return {**self.extra, **{k: v for k, v in vars(self).items() if k != "extra"},
                "inst_dir": inst_dir}


_env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                          undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                          autoescape=False)


def render(spec: InstanceSpec, inst_dir: str) -> dict[str, str]:
    """All configuration files of the instance, by file name."""
    if spec.role not in ROLE_FILES:
        raise ValueError(f"unknown Asterisk role {spec.role!r} (pbx or world)")
    ctx = spec.context(inst_dir)
    files = {**COMMON_FILES, **ROLE_FILES[spec.role]}
    return {name: _env.get_template(tpl).render(ctx) for name, tpl in files.items()}


def render_external(spec: InstanceSpec) -> dict[str, str]:
    """The platform's files for a user's own Asterisk (to copy into /etc/asterisk)."""
    return {k: v for k, v in render(spec, "/var/lib/asterisk").items() if k in EXTERNAL_FILES}
