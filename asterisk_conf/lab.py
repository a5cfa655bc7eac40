"""Two sandboxed Asterisk instances wired together: the platform's "pbx" and a
"world" playing the carrier and the agents' desk phones.

The tests and the demo both use this; the credentials between the two are
generated for every lab, never taken from the repository.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import ports
from .instance import AsteriskInstance
from .render import InstanceSpec, Peer, Phone, new_secret

RTP_PORTS = 200  # 100 simultaneous calls per instance


@dataclass
class LabPorts:
    pbx_sip: int
    pbx_ami: int
    pbx_rtp: int
    world_sip: int
    world_ami: int
    world_rtp: int

    @classmethod
    def free(cls, host: str = "127.0.0.1") -> "LabPorts":
        return cls(ports.free_port(host), ports.free_port(host), ports.free_udp_range(host, RTP_PORTS),
                   ports.free_port(host), ports.free_port(host), ports.free_udp_range(host, RTP_PORTS))


@dataclass
class Lab:
    root: Path
    agi_port: int
    ports: LabPorts
    phones: tuple[str, ...] = ("1001", "1002", "1003")  # 1003: the supervisor's desk
    prefix: str = "lab"
    host: str = "127.0.0.1"
    pbx: AsteriskInstance = field(init=False)
    world: AsteriskInstance = field(init=False)

    def __post_init__(self):
        carrier = Peer(self.host, self.ports.world_sip, "carrier", new_secret())
        phones = [Phone(name, new_secret()) for name in self.phones]
        p = self.ports
        pbx = InstanceSpec(
            name=f"{self.prefix}-pbx", role="pbx", sip_port=p.pbx_sip, ami_port=p.pbx_ami,
            rtp_start=p.pbx_rtp, rtp_end=p.pbx_rtp + RTP_PORTS - 1, bind_address=self.host,
            extra={"carrier": carrier, "phones": phones, "agi_host": self.host,
                   "agi_port": self.agi_port})
        world = InstanceSpec(
            name=f"{self.prefix}-world", role="world", sip_port=p.world_sip, ami_port=p.world_ami,
            rtp_start=p.world_rtp, rtp_end=p.world_rtp + RTP_PORTS - 1, bind_address=self.host,
            extra={"carrier": carrier, "phones": phones, "pbx": Peer(self.host, p.pbx_sip)})
        self.pbx = AsteriskInstance(self.root, pbx)
        self.world = AsteriskInstance(self.root, world)

    def start(self) -> None:
        self.pbx.start()
        try:
            self.world.start()
        except BaseException:
            self.pbx.stop()
            raise

    def stop(self) -> None:
        try:
            self.world.stop()
        finally:
            self.pbx.stop()


def wait_registered(lab: Lab, timeout: float = 15.0) -> None:
    """Wait until every desk phone of the world has registered to the pbx."""
    import time
    deadline = time.monotonic() + timeout
    # The contact must name this world's own SIP port: a contact left in the pbx's
    # AstDB by an earlier run that was killed points at a port nobody answers on.
    world = f"{lab.host}:{lab.ports.world_sip}"
    while time.monotonic() < deadline:
        out = lab.pbx.rx("pjsip show contacts", check=False)
        if all(f"{name}/sip:{name}@{world}" in out for name in lab.phones):
            return
        time.sleep(0.2)
    raise TimeoutError(f"desk phones {lab.phones} did not register to the pbx within {timeout} s")
