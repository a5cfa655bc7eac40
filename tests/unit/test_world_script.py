"""The simulated caller's script is validated before it reaches the world's dialplan."""
import pytest

from callcenter.world import CallerScript, ScriptError, World


class NoAmi:  # place_call must refuse before any AMI action is sent
    def action(self, *a, **k):
        raise AssertionError("an invalid call reached AMI")


@pytest.mark.parametrize("script", [
    CallerScript(keys="1)\nsame => n,System(rm -rf /)"), CallerScript(keys="12x"),
    CallerScript(audio="../etc/passwd x"), CallerScript(delay=-1), CallerScript(hold=1e9),
    CallerScript(key_ms=5),
])
def test_bad_scripts_are_refused(script):
    with pytest.raises(ScriptError):
        script.variables()


def test_good_script_variables():
    assert CallerScript(keys="12w#", delay=0.5).variables() == [
        "CALLER_DTMF=12w#", "CALLER_DELAY=0.5", "CALLER_HOLD=2", "CALLER_AUDIO=", "CALLER_DTMF_MS=120"]


@pytest.mark.parametrize("did, number, name", [
    ("800;x", "+15551230001", ""), ("8005550100", "+1555<1>", ""), ("8005550100", "12", 'a"b'),
    ("", "+15551230001", ""),
])
def test_bad_numbers_and_names_are_refused(did, number, name):
    with pytest.raises(ScriptError):
        World(NoAmi()).place_call(did, number, name)
