"""The mailboxes: section of the recording policy file: what is taken, what is
refused (with the file, the key path and the problem), and the start-up check
against the IVR's voicemail nodes and the ACD's voicemail overflows."""
from types import SimpleNamespace

import pytest

from callcenter.settings import ConfigError
from callcenter.voicemail_setup import check_mailboxes, used_mailboxes
from recording.mailboxes import (Greeting, Mailbox, MailboxError, check_address, load_mailboxes,
                                 parse_mailboxes)

GOOD = """
recording:                      # the recording policy: not ours, not checked here
  defaults: {mode: none}
mailboxes:
  "100":
    queue: support
    email: [Support-Team@Example.org, night@example.org]
    greeting: {tts: "Please leave a message after the tone."}
  "200":
    queue: sales
    email: sales@example.org
    greeting: {sound: vm-intro}
  "300":
    queue: care
    email: [care@example.org]
    greeting: {tts: "메시지를 남겨 주세요", language: ko}
  "400": {queue: care, email: [care@example.org]}
"""


def write(tmp_path, text: str):
    path = tmp_path / "recording.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path, text: str) -> list[str]:
    path = write(tmp_path, text)
    with pytest.raises(MailboxError) as refused:
        load_mailboxes(path)
    assert refused.value.file == str(path)
    assert str(path) in str(refused.value)
    return refused.value.problems


def test_a_good_file(tmp_path):
    boxes = load_mailboxes(write(tmp_path, GOOD))
    assert boxes["100"] == Mailbox("100", "support",
                                   ("support-team@example.org", "night@example.org"),
                                   Greeting(tts="Please leave a message after the tone."))
    assert boxes["200"].email == ("sales@example.org",)  # one address may stand alone
    assert boxes["200"].greeting == Greeting(sound="vm-intro")
    assert boxes["300"].greeting == Greeting(tts="메시지를 남겨 주세요", language="ko")
    assert boxes["400"].greeting is None


def test_the_repository_file_loads():
    from pathlib import Path
    boxes = load_mailboxes(Path(__file__).parents[2] / "recording.yaml")
    assert boxes["100"].queue == "support"


def test_no_mailboxes_section_is_no_mailboxes():
    assert parse_mailboxes({"recording": {}}) == {}
    assert parse_mailboxes(None) == {}


@pytest.mark.parametrize("text, expected", [
    ("mailbox:\n  '100': {queue: a, email: [a@b.org]}\n",
     "mailbox: unknown top-level key (known: recording, mailboxes)"),
    ("mailboxes:\n  100: {queue: a, email: [a@b.org]}\n",
     "mailboxes.100: quote the mailbox id"),
    ("mailboxes:\n  'sales': {queue: a, email: [a@b.org]}\n",
     "mailboxes.sales: a mailbox id is 1-10 digits"),
    ("mailboxes:\n  '100': {email: [a@b.org]}\n", "mailboxes.100.queue: is required"),
    ("mailboxes:\n  '100': {queue: a}\n", "mailboxes.100.email: is required"),
    ("mailboxes:\n  '100': {queue: 'a b', email: [a@b.org]}\n",
     "mailboxes.100.queue: 'a b' is not a queue name"),
    ("mailboxes:\n  '100': {queue: a, email: [not-an-address]}\n",
     "mailboxes.100.email: 'not-an-address' is not an e-mail address"),
    ("mailboxes:\n  '100': {queue: a, email: []}\n",
     "mailboxes.100.email: a list of one or more e-mail addresses"),
    ("mailboxes:\n  '100': {queue: a, email: [a@b.org], greting: {tts: hi}}\n",
     "mailboxes.100.greting: unknown key (known: queue, email, greeting)"),
    ("mailboxes:\n  '100': {queue: a, email: [a@b.org], greeting: {tts: hi, sound: beep}}\n",
     "mailboxes.100.greeting: a greeting is {sound: name} or {tts: text} (one of them)"),
    ("mailboxes:\n  '100': {queue: a, email: [a@b.org], greeting: {sound: ../../etc/x}}\n",
     "mailboxes.100.greeting: '../../etc/x' is not a sound name"),
    ("mailboxes:\n  '100': {queue: a, email: [a@b.org], greeting: {tts: hi, language: 1}}\n",
     "mailboxes.100.greeting: 1 is not a language code"),
    ("mailboxes:\n  '100': {queue: a, email: [a@b.org]}\n  '100': {queue: b, email: [a@b.org]}\n",
     "key '100' is given twice"),
    ("mailboxes: [100]\n", "mailboxes: a mapping of mailbox ids"),
    ("mailboxes:\n  '100': {queue: a, email: [a@b.org]\n", "YAML syntax error at line"),
])
def test_refused_with_the_key_path_and_the_problem(tmp_path, text, expected):
    found = problems(tmp_path, text)
    assert any(expected in p for p in found), found


def test_every_problem_is_named_at_once(tmp_path):
    found = problems(tmp_path, "extra: 1\nmailboxes:\n  '1': {queue: a}\n  '2': {email: [x]}\n")
    assert len(found) == 4, found  # extra; 1 has no email; 2 has no queue and a bad address


@pytest.mark.parametrize("address", [
    "a@b.org\r\nBcc: victim@evil.org", "a@b.org, c@d.org", "<a@b.org>", "a b@c.org", "a@b",
    "", None, "x" * 250 + "@b.org", "o'brien@b.org"])
def test_addresses_that_could_inject_or_are_not_one(address):
    with pytest.raises(ValueError):
        check_address(address)


def test_a_file_that_is_not_there_or_not_utf8(tmp_path):
    with pytest.raises(MailboxError, match="cannot read the file"):
        load_mailboxes(tmp_path / "missing.yaml")
    path = tmp_path / "latin1.yaml"
    path.write_bytes("mailboxes: {}\n# caf\xe9\n".encode("latin-1"))
    with pytest.raises(MailboxError, match="is not UTF-8 text"):
        load_mailboxes(path)


# -- the start-up check --------------------------------------------------------

def registry_naming(*mailboxes: str):
    nodes = {f"vm{m}": type("Voicemail", (), {"mailbox": m, "name": f"vm{m}"})() for m in mailboxes}
    flow = SimpleNamespace(name="main", source="menus/main.yaml", nodes=nodes)
    return SimpleNamespace(flows={"main": flow})


def queue_overflowing_to(mailbox: str | None):
    overflow = SimpleNamespace(action="voicemail", target=mailbox) if mailbox else None
    return SimpleNamespace(overflow=overflow)


def test_used_mailboxes_are_named_with_where():
    used = used_mailboxes(registry_naming("100"), {"late": queue_overflowing_to("200"),
                                                   "sales": queue_overflowing_to(None)})
    assert used == {"100": ["menus/main.yaml node vm100"], "200": ["queue late overflow"]}


def test_every_named_mailbox_must_exist_and_call_back_from_a_real_queue():
    boxes = {"100": Mailbox("100", "support", ("a@b.org",)),
             "200": Mailbox("200", "nosuch", ("a@b.org",))}
    queues = {"support": queue_overflowing_to("300")}
    with pytest.raises(ConfigError) as refused:
        check_mailboxes(boxes, registry_naming("100", "999"), queues, "recording.yaml")
    text = str(refused.value)
    assert "mailbox '999' (named by menus/main.yaml node vm999) is not in mailboxes:" in text
    assert "mailbox '300' (named by queue support overflow)" in text
    assert "mailboxes.200.queue: unknown queue 'nosuch' (the ACD has support)" in text
    # Without an ACD the queues are not checked; every named mailbox existing is enough.
    check_mailboxes(boxes, registry_naming("100"), None)
