"""Build the ACD from the configuration: the queue file, checked against the IVR
menus that hand callers to it, the statistics' time zone, and the folder for
voicemail overflows (the same as the IVR's), and the text-to-speech the ACD's
callback offer is spoken with (the IVR's Prompts: acd must not import ivr, so the
``say`` callable is made here).

``build_acd`` returns a factory the Engine calls with itself, so the ACD is made
with the engine's own AMI session, bus, history writer and endpoint tracker.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

from acd.asterisk import AcdService
from acd.config import QueueConfigError, check_ivr_queues, load_queues
from acd.control_input import caller_id
from acd.model import QueueConfig
from ivr.model import Prompt
from ivr.prompts import Prompts

from .settings import ConfigError, Settings

log = logging.getLogger(__name__)

AcdFactory = Callable[[object], AcdService]  # called with the callcenter.engine.Engine


def load(settings: Settings) -> dict[str, QueueConfig] | None:
    """The queue configuration, or None when the ACD is switched off (queues_file = "").
    A missing or broken file is a ConfigError naming every problem."""
    if not settings.acd.queues_file:
        return None
    path = Path(settings.acd.queues_file)
    if not path.is_file():
        raise ConfigError(f"acd.queues_file: no queue configuration at {path} (write one, see "
                          "queues/demo.yaml, or set it to \"\" to run without the ACD)")
    try:
        return load_queues(path)
    except QueueConfigError as exc:
        raise ConfigError(f"acd.queues_file: {exc}") from None


def menu_queues(registry) -> dict[str, list[str]]:
    """Every queue name the IVR menus hand callers to, with where."""
    used: dict[str, list[str]] = {}
    for flow in registry.flows.values():
        for node in flow.nodes.values():
            queue = getattr(node, "queue", None)
            if node.__class__.__name__ == "Queue" and queue:
                used.setdefault(queue, []).append(f"{flow.source or flow.name} node {node.name}")
    return used


def check_menus(queues: dict[str, QueueConfig], registry, source: str) -> None:
    """Refuse to start when a menu names a queue the configuration does not have."""
    problems = check_ivr_queues(queues, menu_queues(registry))
    if problems:
        raise ConfigError(f"acd.queues_file: {QueueConfigError(source, problems)}")


def make_say(prompts: Prompts) -> Callable[[str, str], str | None]:
    """``say(text, language)``: the sound name Asterisk plays for a sentence,
    synthesised (espeak-ng, cached) on first use; None when synthesis fails (the
    ACD logs it and plays nothing). Blocking: the ACD calls it in a thread."""
    def say(text: str, language: str) -> str | None:
        try:
            return prompts.resolve(Prompt(tts=text), language)
        except Exception as exc:
            log.error("acd: cannot synthesise %r (%s: %s)", text, exc.__class__.__name__, exc)
            return None
    return say


def build_acd(settings: Settings, sessions, *, registry=None, sandbox_root: Path | None = None,
              prompts: Prompts | None = None, greeting_for=None) -> AcdFactory | None:
    """``prompts``: the IVR's text-to-speech (default: built from the settings the
    same way callcenter.ivr_setup does, sharing its cache); ``greeting_for(mailbox)``:
    the voicemail mailboxes' own greetings (callcenter.voicemail_setup.make_greetings)."""
    queues = load(settings)
    if queues is None:
        log.info("acd: off (acd.queues_file is empty); callers in a queue wait with music")
        return None
    if registry is not None:
        check_menus(queues, registry, settings.acd.queues_file)
    tz = ZoneInfo(settings.acd.stats_timezone)
    inside = settings.ivr.recordings_dir
    host = sandbox_root / inside.lstrip("/") if sandbox_root else Path(inside)
    a = settings.acd
    if prompts is None:
        from .ivr_setup import build_prompts
        prompts = build_prompts(settings, sandbox_root)
    say = make_say(prompts)
    # The caller ID of calls the ACD places (click-to-dial, transfers to a number).
    try:
        outbound_cli = caller_id(a.outbound_caller_id)
    except ValueError as exc:
        raise ConfigError(f"acd.outbound_caller_id: {exc}") from None
    dial_wrap_up = a.dial_wrap_up

    def factory(engine) -> AcdService:
        return AcdService(engine.ami, queues, sessions=sessions, endpoints=engine.endpoints,
                          bus=engine.bus, history=engine.history,
                          region=settings.crm.default_region, stats_interval=a.stats_interval,
                          stats_tz=tz, publish_period=a.publish_period,
                          dialled_of=engine.dialled_number, recordings=(host, inside),
                          say=say, outbound_cli=outbound_cli, dial_wrap_up=dial_wrap_up,
                          greeting_for=greeting_for)
    log.info("acd: %d queue(s) from %s: %s", len(queues), a.queues_file, ", ".join(queues))
    return factory
