"""Build the IVR from the configuration: menus, prompts, speech and the runtime.

In sandbox mode the folders Asterisk reads (generated prompts, recordings) live
inside the sandbox root, so the same file has two names: ours (host path) and
Asterisk's (inside the chroot). With your own Asterisk both are the same path.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from ivr.checks import CHECKS
from ivr.loader import MenuError, MenuRegistry
from ivr.prompts import Prompts
from ivr.runtime import IvrRuntime
from ivr.speech import Recognizer

from .settings import Settings

log = logging.getLogger(__name__)
SYSTEM_SOUNDS = Path("/usr/share/asterisk/sounds")


@dataclass
class IvrParts:
    runtime: IvrRuntime
    registry: MenuRegistry
    prompts: Prompts


def _host(path: str, sandbox_root: Path | None) -> Path:
    return sandbox_root / path.lstrip("/") if sandbox_root else Path(path)


def build_prompts(settings: Settings, sandbox_root: Path | None) -> Prompts:
    sounds = _host(str(SYSTEM_SOUNDS), sandbox_root)
    return Prompts(cache_dir=_host(settings.ivr.prompt_dir, sandbox_root),
                   asterisk_dir=settings.ivr.prompt_dir,
                   sounds_dir=sounds if sounds.is_dir() else None, root=sandbox_root)


def load_menus(settings: Settings, prompts: Prompts) -> MenuRegistry:
    """The menu flows, validated; a broken set is refused with every problem named."""
    exists = prompts.sound_exists if prompts.sounds_dir else (lambda sound, language: True)
    registry = MenuRegistry(Path(settings.ivr.menus_dir), prompt_exists=exists, checks=tuple(CHECKS))
    errors = registry.reload()
    if errors:
        raise MenuError(str(settings.ivr.menus_dir), None,
                        "menus refused:\n" + "\n".join(str(e) for e in errors))
    return registry


def build_ivr(settings: Settings, *, sessions, history, bus, sandbox_root: Path | None,
              prompts: Prompts | None = None, greeting_for=None) -> IvrParts:
    """``greeting_for(mailbox)``: the voicemail mailboxes' own greetings
    (callcenter.voicemail_setup.make_greetings), made with the same ``prompts``."""
    prompts = prompts or build_prompts(settings, sandbox_root)
    registry = load_menus(settings, prompts)
    made = prompts.warm(_all_prompts(registry))
    log.info("ivr: %d flow(s) loaded, %d prompt(s) synthesised", len(registry.flows), made)
    recognizer = Recognizer(Path(settings.ivr.vosk_model)) if settings.ivr.vosk_model else None
    recordings = (_host(settings.ivr.recordings_dir, sandbox_root), settings.ivr.recordings_dir)
    recordings[0].mkdir(parents=True, exist_ok=True)
    runtime = IvrRuntime(registry, prompts, sessions=sessions, region=settings.crm.default_region,
                         recognizer=recognizer, history=history, bus=bus, recordings=recordings,
                         greeting_for=greeting_for)
    return IvrParts(runtime, registry, prompts)


def _all_prompts(registry: MenuRegistry):
    """Every prompt of every flow in every language it has, to synthesise at start."""
    for flow in registry.flows.values():
        for node in flow.nodes.values():
            for prompt in node.prompts():
                yield prompt, flow.language
                yield from ((variant, lang) for lang, variant in prompt.by_language.items())


def reload_menus(parts: IvrParts) -> None:
    """SIGHUP: load the menus again; a broken file leaves the last good ones active."""
    errors = parts.registry.reload()
    for error in errors:
        log.error("ivr: menus not reloaded, the last good ones stay active: %s", error)
    if not errors:
        log.info("ivr: menus reloaded: %s", ", ".join(sorted(parts.registry.flows)))
