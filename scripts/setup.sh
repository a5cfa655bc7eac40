#!/usr/bin/env bash
# Install everything the platform and its tests need on a fresh Debian 12
# machine (idempotent: quick when all is there). Run as root for the sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY=${PYTHON:-python3}

need_apt=()
# debootstrap builds the Asterisk sandbox; espeak-ng and sox make the IVR's
# text-to-speech prompts (and the tests' spoken callers); chromium runs the
# browser tests of the web console (driven by Playwright, which downloads no
# browser of its own here); ffmpeg compresses recordings (through pydub).
for pkg in debootstrap espeak-ng sox chromium ffmpeg; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: need Debian packages ${need_apt[*]}; run as root or: sudo apt-get install -y ${need_apt[*]}" >&2
    exit 2
  fi
  echo "setup: installing ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV"
  "$PY" -m venv "$VENV"
fi
stamp="$VENV/.installed-$(sha1sum setup.cfg | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  echo "setup: installing Python packages"
  "$VENV/bin/pip" install -q --disable-pip-version-check -e '.[test]'
  touch "$stamp"
fi

"$VENV/bin/callcenter" sandbox
