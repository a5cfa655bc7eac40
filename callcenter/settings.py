"""Configuration: one TOML file plus CALLCENTER_<SECTION>_<KEY> environment
overrides, validated at start with errors that name the key and the fix.

Secrets (AMI, database) come from here or the environment, never from the
repository; the sandbox generates its own AMI secret at every start.
"""
from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path


class ConfigError(ValueError):
    """The configuration is wrong; the message names the key and how to fix it."""


@dataclass
class Database:
    url: str = ""  # empty: SQLite in the data folder


@dataclass
class Asterisk:
    mode: str = "sandbox"  # sandbox: the platform runs its own; external: yours
    sandbox_root: str = ""  # empty: ~/.cache/callcenter/asterisk-root
    # External mode: where your Asterisk's "/" is on this machine when it runs in a
    # container or chroot (prompts and recordings are shared through it); empty:
    # Asterisk sees this machine's own folders.
    files_root: str = ""
    ami_host: str = "127.0.0.1"
    ami_port: int = 5038
    ami_username: str = "callcenter"
    ami_secret: str = ""  # external mode only; the sandbox makes its own
    sip_port: int = 5060
    rtp_start: int = 10000
    inbound_context: str = "from-carrier"


@dataclass
class Agi:
    host: str = "127.0.0.1"
    port: int = 4573


@dataclass
class Web:
    host: str = "127.0.0.1"
    port: int = 8080
    # Signs the session cookie; empty: generated once into <data_dir>/web-secret-key.
    secret_key: str = ""
    # Session cookie only over HTTPS: auto = on unless web.host is loopback.
    secure_cookies: str = "auto"
    # What an agent may say when going not ready (comma-separated codes).
    not_ready_reasons: str = "break,lunch,meeting,training,technical"

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(r.strip() for r in self.not_ready_reasons.split(",") if r.strip())

    @property
    def cookies_secure(self) -> bool:
        if self.secure_cookies == "auto":
            return self.host not in ("127.0.0.1", "::1", "localhost")
        return self.secure_cookies in ("true", "yes", "on")


@dataclass
class Ivr:
    ring_seconds: float = 1.0  # ring before answering, as carriers expect
    menu_timeout_ms: int = 5000
    menus_dir: str = "menus"  # the YAML menu flows
    # Folders both the platform and Asterisk read (generated prompts; voicemail,
    # utterance and fax files). Sandbox mode puts them inside the sandbox root.
    prompt_dir: str = "/var/lib/callcenter/prompts"
    recordings_dir: str = "/var/spool/callcenter"
    vosk_model: str = ""  # a vosk model folder; empty: speech input off


@dataclass
class Crm:
    default_region: str = "US"  # for numbers written without a country code


@dataclass
class Acd:
    queues_file: str = "queues/demo.yaml"  # the queue configuration; empty: no ACD
    stats_interval: int = 1800  # seconds per wallboard interval (aligned to local midnight)
    stats_timezone: str = "UTC"  # IANA zone the intervals and the day are counted in
    publish_period: float = 1.0  # seconds between two acd.stats snapshots on the bus
    # The caller ID of the calls the ACD places (click-to-dial, transfers to a
    # number): your DID, + and digits; empty: the carrier decides.
    outbound_caller_id: str = ""
    dial_wrap_up: float = 10.0  # seconds of after-call work following a click-to-dial call


@dataclass
class Recording:
    # Who is recorded (per queue, outbound calls), consent, stereo or mixed, retention
    # per queue; voicemail mailboxes (greeting, the queue called back, who gets the
    # e-mail). Empty: nothing is recorded and voicemails are not mailed.
    policy_file: str = "recording.yaml"
    store_dir: str = ""  # published recordings; empty: <data_dir>/recordings
    compress_format: str = "opus"  # opus, mp3 or none: what a background job turns WAVs into
    retention_days: int = 90  # unless the policy says otherwise for a queue
    transcribe: bool = True  # needs a vosk model: recording.vosk_model, else ivr.vosk_model
    vosk_model: str = ""


@dataclass
class Mail:
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    username: str = ""
    password: str = ""  # a secret: from the configuration or CALLCENTER_MAIL_PASSWORD
    starttls: bool = False
    sender: str = "callcenter@localhost.localdomain"


@dataclass
class Settings:
    data_dir: str = "var"
    database: Database = field(default_factory=Database)
    asterisk: Asterisk = field(default_factory=Asterisk)
    agi: Agi = field(default_factory=Agi)
    web: Web = field(default_factory=Web)
    ivr: Ivr = field(default_factory=Ivr)
    crm: Crm = field(default_factory=Crm)
    acd: Acd = field(default_factory=Acd)
    recording: Recording = field(default_factory=Recording)
    mail: Mail = field(default_factory=Mail)

    @property
    def database_url(self) -> str:
        if self.database.url:
            return self.database.url
        return f"sqlite:///{(Path(self.data_dir) / 'callcenter.db').resolve()}"


SECTIONS = {"database": Database, "asterisk": Asterisk, "agi": Agi, "web": Web, "ivr": Ivr,
            "crm": Crm, "acd": Acd, "recording": Recording, "mail": Mail}


def load(path: str | Path | None = None, environ: dict | None = None) -> Settings:
    environ = os.environ if environ is None else environ
    raw: dict = {}
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ConfigError(f"configuration file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    settings = Settings()
    for key, value in raw.items():
        if key == "data_dir":
            settings.data_dir = _coerce("data_dir", value, str)
        elif key in SECTIONS and isinstance(value, dict):
            _fill(getattr(settings, key), key, value)
        else:
            raise ConfigError(f"unknown configuration key '{key}' (known: data_dir, "
                              f"{', '.join(SECTIONS)})")
    _apply_env(settings, environ)
    validate(settings)
    return settings


def _fill(section, name: str, values: dict) -> None:
    known = {f.name: f for f in fields(section)}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"unknown key '{name}.{key}' (known: {', '.join(known)})")
        setattr(section, key, _coerce(f"{name}.{key}", value, type(getattr(section, key))))


def _apply_env(settings: Settings, environ) -> None:
    if "CALLCENTER_DATA_DIR" in environ:
        settings.data_dir = environ["CALLCENTER_DATA_DIR"]
    for name in SECTIONS:
        section = getattr(settings, name)
        for f in fields(section):
            env = f"CALLCENTER_{name.upper()}_{f.name.upper()}"
            if env in environ:
                setattr(section, f.name, _coerce(env, environ[env], type(getattr(section, f.name))))


def _coerce(key: str, value, kind: type):
    try:
        if kind is bool and isinstance(value, str):
            return value.lower() in ("1", "true", "yes", "on")
        if kind is int and isinstance(value, float):
            raise ValueError
        return kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be {kind.__name__}, got {value!r}") from None


def validate(s: Settings) -> None:
    if s.asterisk.mode not in ("sandbox", "external"):
        raise ConfigError(f"asterisk.mode must be 'sandbox' or 'external', got {s.asterisk.mode!r}")
    if s.asterisk.mode == "external" and not s.asterisk.ami_secret:
        raise ConfigError("asterisk.ami_secret is required when asterisk.mode = 'external' "
                          "(or set CALLCENTER_ASTERISK_AMI_SECRET)")
    if s.asterisk.files_root and not Path(s.asterisk.files_root).is_dir():
        raise ConfigError(f"asterisk.files_root: no folder at {s.asterisk.files_root} (where "
                          "your Asterisk's / is on this machine, or empty)")
    for key, port in (("asterisk.ami_port", s.asterisk.ami_port),
                      ("asterisk.sip_port", s.asterisk.sip_port),
                      ("asterisk.rtp_start", s.asterisk.rtp_start),
                      ("agi.port", s.agi.port), ("web.port", s.web.port)):
        if not 1 <= port <= 65535:
            raise ConfigError(f"{key} must be a port number 1-65535, got {port}")
    _validate_web(s.web)
    if not 0 <= s.ivr.ring_seconds <= 30:
        raise ConfigError(f"ivr.ring_seconds must be between 0 and 30, got {s.ivr.ring_seconds}")
    for key in ("prompt_dir", "recordings_dir"):
        if not getattr(s.ivr, key).startswith("/"):
            raise ConfigError(f"ivr.{key} must be an absolute path, got {getattr(s.ivr, key)!r}")
    if s.ivr.vosk_model and not Path(s.ivr.vosk_model).is_dir():
        raise ConfigError(f"ivr.vosk_model: no model folder at {s.ivr.vosk_model} (download one "
                          "from https://alphacephei.com/vosk/models and unpack it there)")
    if not 500 <= s.ivr.menu_timeout_ms <= 60000:
        raise ConfigError(f"ivr.menu_timeout_ms must be 500-60000, got {s.ivr.menu_timeout_ms}")
    import phonenumbers  # the CRM's number library says which regions exist
    if s.crm.default_region not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(f"crm.default_region must be a region code like US, GB or CN, "
                          f"got {s.crm.default_region!r}")
    _validate_acd(s.acd)
    _validate_recording(s.recording, s.ivr)
    _validate_mail(s.mail)
    url = s.database_url
    if not url.startswith(("sqlite", "postgresql")):
        raise ConfigError(f"database.url must be a sqlite:// or postgresql+psycopg:// URL, got {url!r}")


def _validate_web(w: Web) -> None:
    if w.secret_key and len(w.secret_key) < 32:
        raise ConfigError("web.secret_key must be at least 32 characters (or empty: one is "
                          "generated into <data_dir>/web-secret-key)")
    reasons = w.reasons
    bad = [r for r in reasons if not re.fullmatch(r"[a-z0-9_-]{1,32}", r)]
    if not reasons or bad:
        raise ConfigError("web.not_ready_reasons must be comma-separated codes of lower-case "
                          f"letters, digits, - and _ (1-32 each), got {w.not_ready_reasons!r}")
    w.secure_cookies = w.secure_cookies.strip().lower()
    if w.secure_cookies not in ("auto", "true", "false", "yes", "no", "on", "off"):
        raise ConfigError(f"web.secure_cookies must be auto, true or false, "
                          f"got {w.secure_cookies!r}")


def _validate_acd(a: Acd) -> None:
    if not 60 <= a.stats_interval <= 86400 or 86400 % a.stats_interval:
        raise ConfigError(f"acd.stats_interval must be 60-86400 seconds and divide a day "
                          f"(900, 1800, 3600 ...), got {a.stats_interval}")
    if not 0.1 <= a.publish_period <= 60:
        raise ConfigError(f"acd.publish_period must be 0.1-60 seconds, got {a.publish_period}")
    if not 0 <= a.dial_wrap_up <= 3600:
        raise ConfigError(f"acd.dial_wrap_up must be 0-3600 seconds, got {a.dial_wrap_up}")
    from acd.control_input import caller_id
    try:
        caller_id(a.outbound_caller_id)
    except ValueError as exc:
        raise ConfigError(f"acd.outbound_caller_id: {exc}") from None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    try:
        ZoneInfo(a.stats_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"acd.stats_timezone must be an IANA time zone like UTC or "
                          f"Europe/Berlin, got {a.stats_timezone!r}") from None


def _validate_recording(r: Recording, ivr: Ivr) -> None:
    if r.compress_format not in ("opus", "mp3", "none"):
        raise ConfigError(f"recording.compress_format must be opus, mp3 or none, "
                          f"got {r.compress_format!r}")
    if not 1 <= r.retention_days <= 36500:
        raise ConfigError(f"recording.retention_days must be 1-36500, got {r.retention_days}")
    if r.vosk_model and not Path(r.vosk_model).is_dir():
        raise ConfigError(f"recording.vosk_model: no model folder at {r.vosk_model} (download "
                          "one from https://alphacephei.com/vosk/models and unpack it there)")
    if r.store_dir and not r.store_dir.startswith("/"):
        raise ConfigError(f"recording.store_dir must be an absolute path, got {r.store_dir!r}")


def _validate_mail(m: Mail) -> None:
    if not 1 <= m.smtp_port <= 65535:
        raise ConfigError(f"mail.smtp_port must be a port number 1-65535, got {m.smtp_port}")
    if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+", m.sender):
        raise ConfigError(f"mail.sender must be an e-mail address, got {m.sender!r}")
    if bool(m.username) != bool(m.password):
        raise ConfigError("mail.username and mail.password go together (the password from "
                          "CALLCENTER_MAIL_PASSWORD keeps it out of the file)")
