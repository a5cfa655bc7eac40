"""The IVR on a live call: walk the menu flow of the dialled number over FastAGI.

One ``IvrRuntime`` serves every call (its ``handle`` is the FastAGI route
"ivr"); the state of one call lives in a ``CallState``. Each node visited adds
a step to the call's path, and the path is written on the call's interaction
when the IVR ends, however it ends (a hand-off, a goodbye, the caller hanging
up mid-prompt, a fault).

What the runtime promises the caller:
- never dead air: the CRM is asked in a thread with a deadline and its failure
  takes the flow's ``on_error`` branch; any unexpected fault in a node sends
  the caller to the flow's safest exit (its first queue, else an apology and a
  goodbye);
- nothing the caller controls (caller ID, typed digits, speech) goes into an
  AGI command or a channel variable; menu data was validated by the loader
  and is checked again here before it reaches Asterisk.

The decisions (which lookup branch, what a key means, how a path step reads)
are pure functions below the class, tested without Asterisk.
"""
from __future__ import annotations

import logging
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cti.agi_call import AgiCall
from cti.agi_errors import AgiHangup
from cti.recorded import WAV_BYTES_PER_SECOND, WAV_HEADER, written_size
from ivr import hours
from ivr.checks import CHECKS
from ivr.crm import CallerProfile, Crm, CrmUnavailable
from ivr.model import (KINDS, Collect, Fax, Flow, Hangup, Hours, Language, Lookup, Menu, Node,
                       Play, Prompt, Queue, Transfer, Voicemail)

log = logging.getLogger(__name__)

MAX_STEPS = 200  # nodes one call may visit: a caller looping through menus ends somewhere
NO_SERVICE = Prompt(sound="ss-noservice")
APOLOGY = Prompt(sound="sorry")
GOODBYE = Prompt(sound="vm-goodbye")
VM_GREETING = Prompt(sound="vm-intro")
VM_MAX_SECONDS = 180
VM_SILENCE_SECONDS = 5
UTTERANCE_SILENCE_SECONDS = 2

# What may reach an AGI command or a channel variable.
# (Always used with fullmatch: "$" would let a trailing newline through.)
LANGUAGE = re.compile(r"(?=.{2,16}\Z)[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")
NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # queue and skill names
TRANSFER_NUMBER = re.compile(r"\+?[0-9]{1,20}")
KEYS = re.compile(r"[0-9*#]{1,12}")
FILE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}")
VM_SOUND = re.compile(r"/?[A-Za-z0-9_-]+(?:/[A-Za-z0-9_.-]+)*")  # a mailbox greeting's sound
TYPED = re.compile(r"[0-9]*")
CONSENT_SOUND = re.compile(r"/?[A-Za-z0-9_-]+(?:/[A-Za-z0-9_.-]+)*")  # [acd-wait] plays it

KIND_OF: dict[type, str] = {cls: name for name, cls in KINDS.items()}


@dataclass
class CallState:
    """One call's walk through the IVR."""
    call: AgiCall
    started: float  # clock() when the IVR took the call
    clock: Any
    linkedid: str = ""
    file_id: str = ""  # names this call's files (the linkedid when it is safe)
    caller: str = ""  # caller ID as received: for the CRM and history only
    flow: Flow | None = None
    language: str = "en"
    path: list[dict] = field(default_factory=list)
    keys: str = ""
    words: list[str] = field(default_factory=list)
    outcome: str = "hangup"
    finished: bool = False  # the terminal node did its job (the caller may hang up now)
    customer_id: int | None = None
    account: str | None = None

    def enter(self, node: Node | None, kind: str = "") -> dict:
        """Add the step for entering ``node``; facts are filled in as they happen."""
        step = path_step(node.name if node else "", kind or kind_of(node),
                         self.clock() - self.started)
        self.path.append(step)
        return step

    def detail(self) -> dict:
        return {"flow": self.flow.name if self.flow else None, "path": self.path,
                "keys": self.keys, "words": self.words, "outcome": self.outcome,
                "customer_id": self.customer_id, "account": self.account,
                "language": self.language}


class IvrRuntime:
    def __init__(self, flows, prompts, *, sessions=None, region: str = "US", recognizer=None,
                 history=None, bus=None, recordings: tuple[Path, str] | None = None,
                 crm_timeout: float = 2.0, clock=time.time, greeting_for=None,
                 consent_for=None):
        """``flows``: has flow_for_did(did) (a MenuRegistry); ``prompts``: ivr.prompts.Prompts;
        ``recordings``: (folder as we see it, the same folder as Asterisk sees it) for
        voicemail, utterances and faxes; ``history``: CallHistory or None;
        ``greeting_for(mailbox)``: the sound name of the mailbox's own greeting, or None
        (then the voicemail node's greeting plays); ``consent_for(queue)``: the sound
        name of the recording-consent announcement callers of that queue hear before
        waiting, or None (the composition root makes it from the recording policy)."""
        self.flows = flows
        self.prompts = prompts
        self.crm = Crm(sessions, region=region, timeout=crm_timeout)
        self.recognizer = recognizer
        self.history = history
        self.bus = bus
        self.recordings = None
        if recordings is not None:
            host, inside = recordings
            if not inside.startswith("/") or not re.fullmatch(r"[A-Za-z0-9_/.-]+", inside) \
                    or ".." in inside.split("/"):
                raise ValueError(f"recordings folder as Asterisk sees it must be an absolute "
                                 f"path of letters, digits, '_', '.', '-', got {inside!r}")
            self.recordings = (Path(host), inside.rstrip("/"))
        self.clock = clock
        self.greeting_for = greeting_for
        self.consent_for = consent_for
        self._nodes = {Play: self._play, Menu: self._menu, Collect: self._collect,
                       Lookup: self._lookup, Hours: self._hours, Language: self._language,
                       Queue: self._queue, Voicemail: self._voicemail, Fax: self._fax,
                       Transfer: self._transfer, Hangup: self._hangup}

    # -- the call ------------------------------------------------------------
    async def handle(self, call: AgiCall) -> None:
        state = CallState(call=call, started=self.clock(), clock=self.clock,
                          caller=call.env.get("callerid", ""))
        try:
            state.linkedid = await call.linkedid() or ""
            state.file_id = file_id_for(state.linkedid, call.uniqueid)
            await call.answer()
            state.flow = self._flow_for(call.env.get("extension", ""))
            if state.flow is None:
                state.enter(None, "noservice")
                await self._say(state, NO_SERVICE)
                return
            state.language = state.flow.language
            if call.env.get("language") != state.language:
                await self._use_language(state, state.language)
            await self._walk(state)
        except AgiHangup:
            if not state.finished:
                state.outcome = "caller_hung_up"
            raise  # the FastAGI server counts it as a hang-up
        finally:
            self._record(state)

    def _flow_for(self, did: str) -> Flow | None:
        try:
            return self.flows.flow_for_did(did)
        except Exception:
            log.exception("ivr: no flow for dialled number %r: the menu registry failed", did)
            return None

    async def _walk(self, state: CallState) -> None:
        name = state.flow.start
        for _ in range(MAX_STEPS):
            node = state.flow.nodes[name]
            try:
                name = await self._nodes[type(node)](state, node)
            except AgiHangup:
                raise
            except Exception as exc:
                log.exception("ivr: flow %s, node %s failed on %s; caller goes to the safest exit",
                              state.flow.name, node.name, state.call.channel)
                await self._safest_exit(state, node, type(exc).__name__)
                return
            if not name:
                return
        log.warning("ivr: flow %s: %d nodes visited on %s without an end", state.flow.name,
                    MAX_STEPS, state.call.channel)
        await self._safest_exit(state, None, "too_many_steps")

    async def _safest_exit(self, state: CallState, failed: Node | None, error: str) -> None:
        """The first queue of the flow (an agent can help), else an apology and goodbye."""
        if state.path and failed is not None:
            state.path[-1]["error"] = error
        queue = safest_exit(state.flow)
        if queue is not None and queue is not failed:
            try:
                await self._queue(state, queue, fallback=True)
                return
            except AgiHangup:
                raise
            except Exception:
                log.exception("ivr: flow %s: the fallback queue %s failed too", state.flow.name,
                              queue.name)
        state.enter(None, "fallback_hangup")
        state.outcome = "hangup"
        for prompt in (APOLOGY, GOODBYE):
            try:
                await self._say(state, prompt)
            except AgiHangup:
                raise
            except Exception:
                log.exception("ivr: cannot play %s", prompt.sound)

    def _record(self, state: CallState) -> None:
        if self.history is None or not state.linkedid:
            return
        started = datetime.fromtimestamp(state.started, timezone.utc)
        ended = max(started, datetime.fromtimestamp(self.clock(), timezone.utc))
        try:
            self.history.record_segment(state.linkedid, "ivr", started, ended, state.detail())
        except Exception:
            log.exception("ivr: cannot queue the IVR path of %s", state.linkedid)

    # -- playing -------------------------------------------------------------
    async def _say(self, state: CallState, prompt: Prompt, escape: str = "") -> str:
        """Play a prompt; the escape key pressed during it, or ''."""
        if not has_sound(prompt, state.language):
            return ""
        name = await self.prompts.resolve_async(prompt, state.language)
        return await state.call.stream_file(name, escape)

    async def _say_all(self, state: CallState, prompts, escape: str) -> str:
        for prompt in prompts:
            if prompt is not None:
                key = await self._say(state, prompt, escape)
                if key:
                    return key
        return ""

    async def _use_language(self, state: CallState, code: str) -> None:
        if not LANGUAGE.fullmatch(code or ""):
            raise ValueError(f"language code {code!r} is not like 'en', 'en_GB' or 'pt-BR'")
        state.language = code
        # Asterisk's own sounds (digits, vm-*) follow the caller's language too.
        await state.call.set_variable("CHANNEL(language)", code)

    # -- nodes: each returns the next node's name, '' when the IVR is done -----
    async def _play(self, state: CallState, node: Play) -> str:
        step = state.enter(node)
        await self._say(state, node.prompt)
        step["next"] = node.next
        return node.next

    async def _menu(self, state: CallState, node: Menu) -> str:
        step = state.enter(node)
        keys = option_keys(node.options)
        listening = bool(node.words) and self.recognizer is not None and self.recordings is not None
        lead: Prompt | None = None
        invalid: list[str] = []
        timeouts = 0
        for attempt in range(1, attempts_of(node.retries) + 1):
            key = await self._say_all(state, (lead, node.prompt), keys)
            heard = None
            if not key and listening:
                key, heard = await self._listen(state, node, keys, attempt, step)
            elif not key:
                key = await state.call.wait_for_digit(seconds_ms(node.timeout))
            state.keys += key
            verdict, target = menu_choice(node, key, heard["word"] if heard else None)
            if verdict == "go":
                if heard and not key:
                    state.words.append(heard["word"])
                    step.update(word=heard["word"], confidence=heard["confidence"])
                else:
                    step["key"] = key
                step.update(attempts=attempt, next=target)
                _add_failures(step, invalid, timeouts)
                return target
            if verdict == "invalid":
                invalid.append(key)
                lead = node.invalid_prompt
            else:
                timeouts += 1
                lead = node.timeout_prompt
        if verdict == "invalid":
            await self._say(state, node.invalid_prompt)  # tell the caller why before moving on
        step.update(attempts=attempts_of(node.retries), next=node.on_fail, failed=True)
        _add_failures(step, invalid, timeouts)
        return node.on_fail

    async def _listen(self, state: CallState, node: Menu, keys: str, attempt: int,
                      step: dict) -> tuple[str, dict | None]:
        """Record a short answer after a beep; a key ends it and counts as that key.
        Returns (key, None) or ('', {"word", "confidence", ...})."""
        host_dir, inside = self._folder("utterances")
        stem = f"{state.file_id}-{safe_name(node.name)}-{attempt}"
        wav = host_dir / f"{stem}.wav"
        try:
            result = await state.call.command(
                f'RECORD FILE {inside}/{stem} wav "{keys}" {seconds_ms(node.timeout)} BEEP '
                f's={UTTERANCE_SILENCE_SECONDS}')
            key = recorded_key(result)
            if key:
                return key, None
            size = await written_size(wav)
            heard = {"attempt": attempt, "bytes": size, "word": None, "confidence": 0.0,
                     "heard": ""}
            if size > WAV_HEADER:
                try:
                    got = await self.recognizer.recognize_file_async(wav, list(node.words))
                    heard.update(word=got.word, confidence=round(got.confidence, 3), heard=got.text)
                except Exception as exc:  # unreadable audio, no model: no word; the caller retries
                    log.warning("ivr: speech recognition failed on %s: %s", wav, exc)
                    heard["error"] = type(exc).__name__
            step.setdefault("listened", []).append(heard)
            return "", heard
        finally:
            wav.unlink(missing_ok=True)

    async def _collect(self, state: CallState, node: Collect) -> str:
        step = state.enter(node)
        rejected: list[str] = []
        lead: Prompt | None = None
        for attempt in range(1, attempts_of(node.retries) + 1):
            if lead is not None:
                await self._say(state, lead)
            name = await self.prompts.resolve_async(node.prompt, state.language)
            typed = await state.call.get_data(name, seconds_ms(node.timeout), node.max_digits)
            typed = typed if TYPED.fullmatch(typed or "") else ""
            state.keys += typed
            problem, customer_id = await self._check_number(node, typed)
            if problem is None:
                state.account = typed
                if customer_id is not None:
                    state.customer_id = customer_id
                if node.read_back and typed.isdigit():
                    await state.call.stream_file("you-entered")
                    await state.call.say_digits(typed)  # Asterisk says it in the call's language
                step.update(number=typed, customer_id=customer_id, attempts=attempt,
                            next=node.valid)
                if rejected:
                    step["rejected"] = rejected
                return node.valid
            if problem == "crm_unavailable":
                step.update(error=problem, attempts=attempt, next=node.on_fail, failed=True)
                return node.on_fail
            rejected.append(typed)
            lead = node.invalid_prompt if typed else None
        step.update(attempts=attempts_of(node.retries), rejected=rejected, next=node.on_fail,
                    failed=True)
        return node.on_fail

    async def _check_number(self, node: Collect, typed: str) -> tuple[str | None, int | None]:
        if not node.min_digits <= len(typed) <= node.max_digits:
            return "length", None
        if not node.check:
            return None, None
        check = CHECKS[node.check]
        try:
            result = await self.crm.ask(check, self.crm, typed)
        except CrmUnavailable as exc:
            log.warning("ivr: check %s not answered: %s", node.check, exc)
            return "crm_unavailable", None
        return (None, result.customer_id) if result.ok else ("not_found", None)

    async def _lookup(self, state: CallState, node: Lookup) -> str:
        step = state.enter(node)
        profile: CallerProfile | None = CallerProfile(())  # no CRM: nobody is known
        if self.crm.configured:
            try:
                profile = await self.crm.ask(self.crm.caller_profile, state.caller)
            except CrmUnavailable as exc:
                log.warning("ivr: caller lookup on %s failed: %s", state.call.channel, exc)
                profile = None
                step["error"] = "crm_unavailable"
        branch = lookup_branch(node, profile)
        target = node.targets()[branch]
        step.update(branch=branch, next=target)
        if profile is not None:
            step["matches"] = len(profile.matches)
        customer = the_customer(profile)
        if customer is not None:
            state.customer_id = customer.id
            step["customer_id"] = customer.id
            wanted = customer.language
            if wanted != state.language and wanted in flow_languages(state.flow) \
                    and LANGUAGE.fullmatch(wanted or ""):
                await self._use_language(state, wanted)
                step["language"] = wanted
        return target

    async def _hours(self, state: CallState, node: Hours) -> str:
        step = state.enter(node)
        at = datetime.fromtimestamp(self.clock(), timezone.utc)
        branch = "open" if hours.is_open(state.flow.schedules[node.schedule], at) else "closed"
        target = node.open if branch == "open" else node.closed
        step.update(branch=branch, next=target)
        return target

    async def _language(self, state: CallState, node: Language) -> str:
        step = state.enter(node)
        keys = option_keys(node.options)
        key = await self._say(state, node.prompt, keys)
        if not key:
            key = await state.call.wait_for_digit(seconds_ms(node.timeout))
        state.keys += key
        chosen = node.options.get(key, state.language)
        await self._use_language(state, chosen)
        step.update(key=key or None, language=chosen, next=node.next)
        return node.next

    async def _queue(self, state: CallState, node: Queue, fallback: bool = False) -> str:
        step = state.enter(node)
        step["queue"] = node.queue
        if fallback:
            step["fallback"] = True
        for value in (node.queue, *node.skills):
            _require(NAME, value, "queue or skill name")
        if isinstance(node.priority, bool) or not isinstance(node.priority, int) \
                or not 0 <= node.priority <= 1000:
            raise ValueError(f"queue priority must be 0-1000, got {node.priority!r}")
        call = state.call
        await call.set_variable("CC_QUEUE", node.queue)
        await call.set_variable("CC_SKILLS", ",".join(node.skills))
        await call.set_variable("CC_PRIORITY", str(node.priority))
        # The ACD asks the CRM about this customer (VIP, last agent); 0 = not identified.
        await call.set_variable("CC_CUSTOMER", str(state.customer_id or 0))
        await self._consent(call, node.queue, step)
        await hand_off(call, "ivr-queue")
        state.outcome, state.finished = "queue", True
        await self._publish("ivr.queue", {
            "linkedid": state.linkedid, "queue": node.queue, "skills": list(node.skills),
            "priority": node.priority, "customer_id": state.customer_id, "caller": state.caller,
            "ivr": state.detail()})  # the path, keys and account: for the agent's screen pop
        return ""

    async def _consent(self, call: AgiCall, queue: str, step: dict) -> None:
        """CC_CONSENT: the announcement [acd-wait] plays once, before the caller waits,
        where the queue's recording policy asks for consent (the recorder records such
        a call only if it was heard)."""
        if self.consent_for is None:
            return
        try:
            sound = self.consent_for(queue)
        except Exception:
            log.exception("ivr: no consent announcement for queue %s", queue)
            return
        if not sound:
            return
        if not isinstance(sound, str) or len(sound) > 200 or not CONSENT_SOUND.fullmatch(sound) \
                or ".." in sound.split("/"):
            log.error("ivr: consent sound %r refused (not a sound name)", sound)
            return
        await call.set_variable("CC_CONSENT", sound)
        step["consent"] = True

    async def _voicemail(self, state: CallState, node: Voicemail) -> str:
        step = state.enter(node)
        mailbox_greeting = self._mailbox_greeting(node.mailbox)
        if mailbox_greeting:  # the queue's own greeting, from the mailbox
            step["greeting"] = "mailbox"
            await state.call.stream_file(mailbox_greeting)  # a hang-up here: no message
        else:
            greeting = node.greeting if has_sound(node.greeting, state.language) else VM_GREETING
            await self._say(state, greeting)  # a hang-up here: no message, nothing linked
        host_dir, inside = self._folder("voicemail")
        wav = host_dir / f"{state.file_id}.wav"
        caller_left = False
        try:
            await state.call.command(
                f'RECORD FILE {inside}/{state.file_id} wav "#" {VM_MAX_SECONDS * 1000} BEEP '
                f's={VM_SILENCE_SECONDS}', hangup_on_minus_one=False)
        except AgiHangup:
            caller_left = True  # the usual way to end a message
        size = await written_size(wav)
        state.outcome = "voicemail"
        if size > WAV_HEADER:
            state.finished = True
            self._link_voicemail(state, node, wav, size)
            step.update(message=True, bytes=size)
        else:
            wav.unlink(missing_ok=True)  # no empty voicemails
            step["message"] = False
        if caller_left:
            raise AgiHangup(f"{state.call.channel} hung up after the voicemail")
        await self._say(state, GOODBYE)
        return ""

    def _mailbox_greeting(self, mailbox: str) -> str | None:
        if self.greeting_for is None:
            return None
        try:
            sound = self.greeting_for(mailbox)
        except Exception:
            log.exception("ivr: no greeting for mailbox %s; the node's greeting plays", mailbox)
            return None
        if not isinstance(sound, str) or len(sound) > 200 or not VM_SOUND.fullmatch(sound) \
                or ".." in sound.split("/"):
            return None
        return sound

    def _link_voicemail(self, state: CallState, node: Voicemail, wav: Path, size: int) -> None:
        meta = {"mailbox": node.mailbox, "flow": state.flow.name, "node": node.name,
                "caller": state.caller, "format": "wav", "bytes": size,
                "seconds": round((size - WAV_HEADER) / WAV_BYTES_PER_SECOND, 1),
                "customer_id": state.customer_id, "schedule": closed_schedule(state)}
        if self.history is not None and state.linkedid:
            self.history.record_link(state.linkedid, "voicemail", str(wav), meta)
        self._publish_nowait("ivr.voicemail",
                             {"linkedid": state.linkedid, "file": str(wav), **meta})

    async def _fax(self, state: CallState, node: Fax) -> str:
        state.enter(node)
        host_dir, inside = self._folder("fax")
        await state.call.set_variable("CC_FAX_FILE", f"{inside}/{state.file_id}.tif")
        await hand_off(state.call, "ivr-fax")
        state.outcome, state.finished = "fax", True
        await self._publish("ivr.fax", {"linkedid": state.linkedid, "caller": state.caller,
                                        "file": str(host_dir / f"{state.file_id}.tif"),
                                        "customer_id": state.customer_id})
        return ""

    async def _transfer(self, state: CallState, node: Transfer) -> str:
        step = state.enter(node)
        _require(TRANSFER_NUMBER, node.number, "transfer number")
        step["number"] = node.number
        await state.call.set_variable("CC_TRANSFER", node.number)
        await hand_off(state.call, "ivr-transfer")
        state.outcome, state.finished = "transfer", True
        return ""

    async def _hangup(self, state: CallState, node: Hangup) -> str:
        state.enter(node)
        state.outcome = "hangup"
        await self._say(state, node.prompt)
        return ""  # the dialplan's Hangup() clears the call with cause 16

    # -- helpers with I/O ------------------------------------------------------
    def _folder(self, kind: str) -> tuple[Path, str]:
        if self.recordings is None:
            raise RuntimeError(f"{kind} needs a recordings folder (IvrRuntime(recordings=...))")
        host, inside = self.recordings
        (host / kind).mkdir(parents=True, exist_ok=True)
        return host / kind, f"{inside}/{kind}"

    async def _publish(self, topic: str, payload: dict) -> None:
        if self.bus is None:
            return
        try:
            await self.bus.publish(topic, payload)
        except Exception:
            log.exception("ivr: cannot publish %s", topic)

    def _publish_nowait(self, topic: str, payload: dict) -> None:
        if self.bus is None:
            return
        try:
            self.bus.publish_nowait(topic, payload)
        except Exception:
            log.exception("ivr: cannot publish %s", topic)


async def hand_off(call: AgiCall, context: str) -> None:
    """Continue in ``context`` once the AGI returns (the dialplan takes over there)."""
    for line in (f"SET CONTEXT {context}", "SET EXTENSION s", "SET PRIORITY 1"):
        await call.command(line)


# -- pure decisions ----------------------------------------------------------------

def kind_of(node: Node | None) -> str:
    return KIND_OF.get(type(node), type(node).__name__.lower()) if node is not None else ""


def path_step(node: str, kind: str, elapsed: float, **facts) -> dict:
    """One step of the IVR path: where, what, when (seconds since the IVR took
    the call, to the millisecond), and what happened there (None facts left out)."""
    step = {"node": node, "kind": kind, "t": round(max(0.0, elapsed), 3)}
    step.update({k: v for k, v in facts.items() if v is not None})
    return step


def recorded_key(result) -> str:
    """The key that ended a RECORD FILE. Only a "(dtmf)" answer carries one: after
    a timeout or silence Asterisk puts the milliseconds left in result=."""
    code = result.result_int or 0
    if result.data == "dtmf" and 0 < code < 128 and re.fullmatch(r"[0-9*#]", chr(code)):
        return chr(code)
    return ""


def seconds_ms(seconds: float) -> int:
    return max(0, int(round(seconds * 1000)))


def attempts_of(retries: int) -> int:
    """A menu's ``retries`` is how many times its prompt is played before on_fail."""
    return max(1, int(retries))


def option_keys(options: dict[str, str]) -> str:
    """The keys a prompt may be interrupted with, checked for an AGI command."""
    keys = "".join(options)
    if keys and not KEYS.fullmatch(keys):
        raise ValueError(f"menu keys {keys!r}: only 0-9, * and #")
    return keys


def menu_choice(node: Menu, key: str, word: str | None) -> tuple[str, str | None]:
    """('go', target) for an option key or a menu word, ('invalid', None) for any
    other key, ('timeout', None) when the caller did nothing we understood."""
    if key:
        return ("go", node.options[key]) if key in node.options else ("invalid", None)
    if word and word in node.words:
        return "go", node.words[word]
    return "timeout", None


def lookup_branch(node: Lookup, profile: CallerProfile | None) -> str:
    """The branch a lookup takes. ``profile`` None: the CRM could not answer.

    The caller's own branches, most specific first (vip, open_ticket, known or
    many, then unknown); the first the menu has wins, so a missing branch falls
    through to the next that applies (a VIP without a vip branch is 'known')."""
    if profile is None:
        wanted = ["on_error", "unknown"]
    else:
        matches = profile.matches
        wanted = []
        if any(m.level in node.vip_levels for m in matches):
            wanted.append("vip")
        if len(matches) == 1:
            wanted += ["open_ticket"] if profile.open_ticket else []
            wanted.append("known")
        elif matches:
            wanted.append("many")
        wanted.append("unknown")
    targets = node.targets()
    for branch in wanted:
        if targets.get(branch):
            return branch
    raise ValueError(f"lookup {node.name} has no branch for {wanted[0]!r} nor any after it")


def the_customer(profile: CallerProfile | None):
    """The customer the caller is, when the number names exactly one."""
    if profile is None or len(profile.matches) != 1:
        return None
    return profile.matches[0]


def flow_languages(flow: Flow) -> set[str]:
    """Languages the flow has prompts for (its own and every by_language)."""
    found = {flow.language}
    for node in flow.nodes.values():
        for prompt in node.prompts():
            found.update(prompt.by_language)
    return found


def has_sound(prompt: Prompt, language: str) -> bool:
    chosen = prompt.for_language(language)
    return bool(chosen.sound or chosen.tts.strip())


def closed_schedule(state: CallState) -> str | None:
    """The schedule of the last hours node that found the call closed (the callback
    of a voicemail left after hours is due when it opens), or None."""
    for step in reversed(state.path):
        if step.get("kind") == "hours" and step.get("branch") == "closed":
            node = state.flow.nodes.get(step["node"]) if state.flow else None
            return getattr(node, "schedule", None)
    return None


def safest_exit(flow: Flow | None) -> Queue | None:
    """Where a caller goes when a node fails: the flow's first queue, if any."""
    if flow is None:
        return None
    return next((n for n in flow.nodes.values() if isinstance(n, Queue)), None)


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)[:40] or "node"


def file_id_for(linkedid: str, uniqueid: str) -> str:
    """A name for this call's files: the linkedid (e.g. 1712345678.42) when it
    looks like one, else a random one (never a value we cannot trust in a path)."""
    for candidate in (linkedid, uniqueid):
        if candidate and FILE_ID.fullmatch(candidate):
            return candidate
    return uuid.uuid4().hex


def _require(pattern: re.Pattern, value: str, what: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ValueError(f"{what} {value!r} may not reach Asterisk")
    return value


def _add_failures(step: dict, invalid: list[str], timeouts: int) -> None:
    if invalid:
        step["invalid"] = list(invalid)
    if timeouts:
        step["timeouts"] = timeouts
