"""Configuration: defaults, file, environment overrides, and errors naming the key."""
import pytest

from callcenter import settings as cfg


def test_defaults_are_a_complete_sandbox_setup(tmp_path):
    s = cfg.load(None, environ={})
    assert s.asterisk.mode == "sandbox" and s.agi.port == 4573
    assert s.database_url.startswith("sqlite:///") and s.database_url.endswith("var/callcenter.db")


def test_file_then_environment(tmp_path):
    path = tmp_path / "cc.toml"
    path.write_text('data_dir = "/tmp/x"\n[agi]\nport = 4600\n[ivr]\nring_seconds = 0.5\n')
    s = cfg.load(path, environ={"CALLCENTER_AGI_PORT": "4700",
                                "CALLCENTER_DATABASE_URL": "postgresql+psycopg://db/cc"})
    assert (s.agi.port, s.ivr.ring_seconds, s.data_dir) == (4700, 0.5, "/tmp/x")
    assert s.database_url == "postgresql+psycopg://db/cc"


@pytest.mark.parametrize("text, environ, words", [
    ("[agi]\nprot = 1\n", {}, "agi.prot"),
    ("[agi]\nport = 'x'\n", {}, "agi.port must be int"),
    ("[agi]\nport = 70000\n", {}, "agi.port must be a port"),
    ("[asterisk]\nmode = 'cloud'\n", {}, "asterisk.mode"),
    ("[asterisk]\nmode = 'external'\n", {}, "asterisk.ami_secret is required"),
    ("[nosuch]\na = 1\n", {}, "unknown configuration key 'nosuch'"),
    ("[agi\n", {}, "not valid TOML"),
    ("", {"CALLCENTER_WEB_PORT": "eighty"}, "CALLCENTER_WEB_PORT must be int"),
    ("", {"CALLCENTER_DATABASE_URL": "mysql://x"}, "database.url"),
    ("[ivr]\nring_seconds = 99\n", {}, "ivr.ring_seconds"),
    ("[crm]\ndefault_region = 'XX'\n", {}, "crm.default_region"),
    ("[asterisk]\nfiles_root = '/no/such/root'\n", {}, "asterisk.files_root: no folder"),
    ("[acd]\nstats_interval = 7\n", {}, "acd.stats_interval"),
    ("[acd]\nstats_timezone = 'Mars/Olympus'\n", {}, "acd.stats_timezone"),
    ("", {"CALLCENTER_WEB_SECRET_KEY": "short"}, "web.secret_key must be at least 32"),
    ("[web]\nsecure_cookies = 'maybe'\n", {}, "web.secure_cookies"),
])
def test_errors_name_the_key(tmp_path, text, environ, words):
    path = tmp_path / "cc.toml"
    path.write_text(text)
    with pytest.raises(cfg.ConfigError, match=words.replace(".", r"\.")):
        cfg.load(path, environ=environ)


def test_web_secret_key_and_secure_cookies(tmp_path):
    s = cfg.load(None, environ={"CALLCENTER_WEB_SECRET_KEY": "k" * 40})
    assert s.web.secret_key == "k" * 40 and not s.web.cookies_secure  # loopback: plain HTTP
    s = cfg.load(None, environ={"CALLCENTER_WEB_HOST": "0.0.0.0"})
    assert s.web.secret_key == "" and s.web.cookies_secure
    s = cfg.load(None, environ={"CALLCENTER_WEB_HOST": "0.0.0.0",
                                "CALLCENTER_WEB_SECURE_COOKIES": "false"})
    assert not s.web.cookies_secure


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(cfg.ConfigError, match="does not exist"):
        cfg.load(tmp_path / "nope.toml", environ={})



def test_console_and_dialling_settings():
    from callcenter.settings import load
    good = load(environ={"CALLCENTER_WEB_NOT_READY_REASONS": "break, coaching",
                         "CALLCENTER_ACD_OUTBOUND_CALLER_ID": "+18005550100",
                         "CALLCENTER_ACD_DIAL_WRAP_UP": "30"})
    assert good.web.reasons == ("break", "coaching") and good.acd.dial_wrap_up == 30.0


@pytest.mark.parametrize("env,key", [
    ({"CALLCENTER_WEB_NOT_READY_REASONS": "Lunch Break"}, "not_ready_reasons"),
    ({"CALLCENTER_WEB_NOT_READY_REASONS": " , "}, "not_ready_reasons"),
    ({"CALLCENTER_ACD_OUTBOUND_CALLER_ID": "1;Dial(x)"}, "outbound_caller_id"),
    ({"CALLCENTER_ACD_DIAL_WRAP_UP": "-1"}, "dial_wrap_up"),
])
def test_bad_console_and_dialling_settings_name_the_key(env, key):
    from callcenter.settings import ConfigError, load
    with pytest.raises(ConfigError, match=key):
        load(environ=env)
