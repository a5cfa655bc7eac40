"""The mailbox's own greeting on the IVR's voicemail node and the ACD's voicemail
overflow: played when the composition root's ``greeting_for`` names a sound,
the old greeting otherwise, and never anything that could not be a sound name
(the value reaches an AGI STREAM FILE command)."""
import pytest

from acd.announce import VoicemailRoute
from ivr.runtime import IvrRuntime

TTS = "/var/lib/callcenter/prompts/tts-0123abcd"


def broken(mailbox):
    raise RuntimeError("espeak-ng is gone")


@pytest.mark.parametrize("greeting_for, expected", [
    ({"100": TTS}.get, TTS), ({"100": "vm-intro"}.get, "vm-intro"),
    ({}.get, None), (None, None), (broken, None),
    ({"100": 'beep" 1234'}.get, None), ({"100": "/var/../../etc/passwd"}.get, None),
    ({"100": "beep\nEXEC System"}.get, None), ({"100": ""}.get, None), ({"100": 7}.get, None)])
def test_the_ivr_plays_the_mailbox_greeting_only_when_it_is_a_sound(greeting_for, expected):
    runtime = IvrRuntime(flows=None, prompts=None, greeting_for=greeting_for)
    assert runtime._mailbox_greeting("100") == expected


@pytest.mark.parametrize("greeting_for, expected", [
    ({"200": TTS}.get, TTS), ({}.get, "vm-intro"), (None, "vm-intro"), (broken, "vm-intro"),
    ({"200": 'x" 1'}.get, "vm-intro"), ({"200": "a/../b"}.get, "vm-intro")])
def test_the_acd_overflow_plays_the_mailbox_greeting_else_vm_intro(greeting_for, expected):
    route = VoicemailRoute(service=None, recordings=None, greeting_for=greeting_for)
    assert route._greeting("200") == expected
