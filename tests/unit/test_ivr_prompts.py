"""Prompts: sound names pass through; text is spoken once by espeak-ng, cached as
8 kHz WAV, and never goes through a shell. These run the real espeak-ng and sox."""
import asyncio
import json
import shutil
import sys
import threading
import wave
from pathlib import Path

import pytest

from ivr.model import Prompt
from ivr.prompts import MAX_TEXT, PromptError, Prompts

pytestmark = pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("sox")),
                                reason="needs espeak-ng and sox (apt-get install espeak-ng sox)")

AST_DIR = "/var/lib/callcenter/prompts"


class CountingEspeak:
    """An espeak-ng stand-in that logs each argv, then runs the real one."""

    def __init__(self, folder: Path):
        self.log = folder / "espeak-calls.jsonl"
        self.path = folder / "espeak-counting"
        self.path.write_text(
            f"#!{sys.executable}\n"
            "import json, os, sys\n"
            f"with open({str(self.log)!r}, 'a') as f:\n"
            "    f.write(json.dumps(sys.argv[1:]) + '\\n')\n"
            "os.execvp('espeak-ng', ['espeak-ng'] + sys.argv[1:])\n")
        self.path.chmod(0o755)

    @property
    def calls(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]


@pytest.fixture
def espeak(tmp_path):
    return CountingEspeak(tmp_path)


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "root" / "var" / "lib" / "callcenter" / "prompts"


@pytest.fixture
def prompts(cache, espeak):
    return Prompts(cache_dir=cache, asterisk_dir=AST_DIR, espeak=str(espeak.path))


def host_file(cache: Path, name: str) -> Path:
    assert name.startswith(AST_DIR + "/") and "." not in name.rsplit("/", 1)[1]
    return cache / (name.rsplit("/", 1)[1] + ".wav")


def test_tts_makes_an_8khz_mono_16bit_wav(prompts, cache):
    name = prompts.resolve(Prompt(tts="Welcome to the contact centre"), "en")
    with wave.open(str(host_file(cache, name))) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        assert w.getnframes() > 8000  # more than a second of speech
    assert sorted(p.name for p in cache.iterdir()) == [host_file(cache, name).name]  # no temp left


def test_second_resolve_is_a_cache_hit(prompts, cache, espeak):
    prompt = Prompt(tts="Please hold")
    first = prompts.resolve(prompt, "en")
    mtime = host_file(cache, first).stat().st_mtime_ns
    assert prompts.resolve(prompt, "en") == first
    again = Prompts(cache_dir=cache, asterisk_dir=AST_DIR, espeak=str(espeak.path))
    assert again.resolve(prompt, "en") == first  # a new process finds the same file
    assert len(espeak.calls) == 1
    assert host_file(cache, first).stat().st_mtime_ns == mtime


def test_sound_prompt_is_its_name(prompts, espeak):
    assert prompts.resolve(Prompt(sound="demo-instruct"), "fr") == "demo-instruct"
    assert espeak.calls == []


def test_languages_give_different_files(prompts, cache, espeak):
    prompt = Prompt(tts="Bonjour")
    en, fr = prompts.resolve(prompt, "en"), prompts.resolve(prompt, "fr")
    assert en != fr and host_file(cache, en).exists() and host_file(cache, fr).exists()
    assert [c[:2] for c in espeak.calls] == [["-v", "en-us"], ["-v", "fr"]]


def test_by_language_text_is_used(prompts, espeak):
    prompt = Prompt(tts="Hello", by_language={"de": Prompt(tts="Guten Tag")})
    prompts.resolve(prompt, "de")
    assert espeak.calls[-1][:2] == ["-v", "de"] and espeak.calls[-1][-1] == "Guten Tag"


def test_chinese_text_uses_the_cmn_voice(prompts, cache, espeak):
    name = prompts.resolve(Prompt(tts="您好，欢迎致电客服中心"), "zh")
    assert espeak.calls[0][:2] == ["-v", "cmn"]
    with wave.open(str(host_file(cache, name))) as w:
        assert w.getframerate() == 8000 and w.getnframes() > 8000


def test_unknown_language_uses_the_english_voice(prompts, espeak):
    prompts.resolve(Prompt(tts="Hello"), "xx")
    prompts.resolve(Prompt(tts="Hello there"), "en_GB")
    assert [c[1] for c in espeak.calls] == ["en-us", "en-us"]


def test_shell_characters_are_spoken_literally(prompts, cache, espeak, tmp_path):
    text = (f'-v de say "hi" and \'bye\'\nnext line $(touch {tmp_path}/pwned) '
            f'`touch {tmp_path}/pwned2`; touch {tmp_path}/pwned3 | cat > {tmp_path}/pwned4')
    name = prompts.resolve(Prompt(tts=text), "en")
    assert espeak.calls[0][:2] == ["-v", "en-us"] and espeak.calls[0][-2:] == ["--", text]
    assert not list(tmp_path.glob("pwned*"))
    assert host_file(cache, name).stat().st_size > 8000


def test_missing_espeak_is_a_clear_error(cache, tmp_path):
    prompts = Prompts(cache_dir=cache, asterisk_dir=AST_DIR, espeak=str(tmp_path / "no-espeak"))
    with pytest.raises(PromptError, match="apt-get install espeak-ng"):
        prompts.resolve(Prompt(tts="Hello"), "en")
    assert not any(cache.iterdir())


def test_failing_espeak_is_an_error_and_leaves_nothing(cache):
    prompts = Prompts(cache_dir=cache, asterisk_dir=AST_DIR, voices={"en": "nosuchvoice"})
    with pytest.raises(PromptError, match="voice does not exist"):
        prompts.resolve(Prompt(tts="Hello"), "en")
    assert not any(cache.iterdir())


def test_missing_sox_is_a_clear_error(cache, tmp_path):
    prompts = Prompts(cache_dir=cache, asterisk_dir=AST_DIR, sox=str(tmp_path / "no-sox"))
    with pytest.raises(PromptError, match="apt-get install sox"):
        prompts.resolve(Prompt(tts="Hello"), "en")
    assert not any(cache.iterdir())


@pytest.mark.parametrize("text,reason", [
    ("", "neither"), ("   ", "neither"), ("x" * (MAX_TEXT + 1), "limit"), ("a\0b", "NUL"),
])
def test_bad_text_is_refused(prompts, espeak, text, reason):
    with pytest.raises(PromptError, match=reason):
        prompts.resolve(Prompt(tts=text), "en")
    assert espeak.calls == []


def test_warm_counts_what_it_made(prompts, espeak):
    hello, bye = Prompt(tts="Hello"), Prompt(tts="Goodbye")
    batch = [(hello, "en"), (hello, "en"), (bye, "de"), (Prompt(sound="beep"), "en")]
    assert prompts.warm(batch) == 2
    assert prompts.warm(batch) == 0
    assert len(espeak.calls) == 2


def test_concurrent_resolves_synthesise_once(prompts, cache, espeak):
    prompt, names = Prompt(tts="One moment please"), []
    threads = [threading.Thread(target=lambda: names.append(prompts.resolve(prompt, "en")))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(names)) == 1 and len(names) == 8
    assert len(espeak.calls) == 1
    assert [p.name for p in cache.iterdir()] == [host_file(cache, names[0]).name]


def test_resolve_async(prompts, cache):
    async def main():
        return await prompts.resolve_async(Prompt(tts="Thank you for calling"), "en")
    name = asyncio.run(main())
    with wave.open(str(host_file(cache, name))) as w:
        assert w.getframerate() == 8000


@pytest.fixture
def sounds(tmp_path):
    root = tmp_path / "usr" / "share" / "asterisk" / "sounds"
    for rel in ("en/demo-instruct.gsm", "en/digits/1.ulaw", "fr/bonjour.wav",
                "en_GB/lift.sln16", "legacy.gsm"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"\0" * 10)
    return root


@pytest.mark.parametrize("sound,language,exists", [
    ("demo-instruct", "en", True),
    ("demo-instruct", "fr", True),  # falls back to en, like Asterisk
    ("bonjour", "fr", True),
    ("bonjour", "en", False),
    ("digits/1", "de", True),
    ("lift", "en_GB", True),
    ("lift", "en", False),
    ("demo-instruct", "en_GB", True),
    ("legacy", "en", True),  # the old flat layout
    ("nope", "en", False),
    ("demo", "en", False),  # a prefix is not a file
    ("../sounds/en/demo-instruct", "en", False),
    ("demo-instruct*", "en", False),  # glob characters are literal
])
def test_sound_exists(sounds, cache, sound, language, exists):
    prompts = Prompts(cache_dir=cache, asterisk_dir=AST_DIR, sounds_dir=sounds)
    assert prompts.sound_exists(sound, language) is exists


def test_sound_exists_knows_our_cache(prompts, cache, sounds):
    prompts.sounds_dir = sounds
    name = prompts.resolve(Prompt(tts="Hi"), "en")
    assert prompts.sound_exists(name, "en")
    assert not prompts.sound_exists(AST_DIR + "/tts-missing", "en")
    assert not prompts.sound_exists("/etc/passwd", "en")


def test_sound_exists_needs_a_sounds_dir(prompts):
    with pytest.raises(PromptError, match="sounds_dir"):
        prompts.sound_exists("beep", "en")


def test_two_processes_racing_leave_one_whole_file(cache, espeak):
    # Separate Prompts objects share no lock, as two processes would not.
    racers = [Prompts(cache_dir=cache, asterisk_dir=AST_DIR, espeak=str(espeak.path))
              for _ in range(4)]
    prompt, names = Prompt(tts="Your call is important to us"), []
    threads = [threading.Thread(target=lambda p=p: names.append(p.resolve(prompt, "en")))
               for p in racers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(names)) == 1 and len(names) == 4
    assert [p.name for p in cache.iterdir()] == [host_file(cache, names[0]).name]
    with wave.open(str(host_file(cache, names[0]))) as w:
        assert w.getframerate() == 8000 and w.getnframes() > 8000


def test_sound_folders_linked_absolutely_inside_a_sandbox_resolve_in_it(tmp_path):
    # Debian links sounds/en -> /etc/alternatives/asterisk-prompt-en -> .../en_US_f_Allison,
    # absolute paths that mean the sandbox's /etc, not ours.
    root = tmp_path / "root"
    sounds = root / "usr/share/asterisk/sounds"
    (sounds / "en_US_f_Allison").mkdir(parents=True)
    (sounds / "en_US_f_Allison" / "vm-goodbye.gsm").write_bytes(b"x")
    (root / "etc/alternatives").mkdir(parents=True)
    (root / "etc/alternatives/asterisk-prompt-en").symlink_to("/usr/share/asterisk/sounds/en_US_f_Allison")
    (sounds / "en").symlink_to("/etc/alternatives/asterisk-prompt-en")
    inside = Prompts(cache_dir=tmp_path / "c", asterisk_dir="/c", sounds_dir=sounds, root=root)
    assert inside.sound_exists("vm-goodbye", "en") and not inside.sound_exists("nope", "en")
    outside = Prompts(cache_dir=tmp_path / "c", asterisk_dir="/c", sounds_dir=sounds)
    assert not outside.sound_exists("vm-goodbye", "en")  # without the root the link is dangling
