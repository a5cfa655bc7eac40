"""Recording from the console: start and stop an on-demand recording of the
agent's call, pause it while the caller reads out a card number (PCI) and
resume; the paused span holds silence. The recording service checks the
policy and audits pauses; what changed comes back over /events."""
from __future__ import annotations

from ..web_auth import login_required
from . import bp
from .agent import TAKES_CALLS
from .replies import desk, done, me, no_fields

COMMANDS = ("start", "stop", "pause", "resume")


def _command(command: str):
    def view():
        no_fields()
        desk().record(command, me())
        return done()
    view.__name__ = f"recording_{command}"
    return view


for _command_name in COMMANDS:
    bp.add_url_rule(f"/console/recording/{_command_name}", f"recording_{_command_name}",
                    login_required(*TAKES_CALLS)(_command(_command_name)), methods=["POST"])
