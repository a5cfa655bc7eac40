"""The platform as `callcenter run` builds it (the demo's menus, queues, users
and customers; the IVR, the ACD, the web with its push feeds) on the lab's
Asterisk instances, and headless Chromium to use the web console like agents
and supervisors do. Screenshots go to tests/artifacts/."""
from __future__ import annotations

import shutil
from pathlib import Path

from asterisk_conf import ports
from callcenter import demo_data
from callcenter.platform import Platform
from callcenter.settings import Settings
from crm_core import interactions

from .conftest import world_of

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Headless, and quiet on the network: this machine reaches no Google service.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-dev-shm-usage"]
PASSWORD = demo_data.DEMO_PASSWORD


class ConsoleStack:
    """``async with ConsoleStack(lab, tmp_path) as stack``: engine + web + Chromium."""

    def __init__(self, lab, tmp_path: Path, **settings_overrides):
        self.lab = lab
        self.settings = settings = Settings()
        settings.data_dir = str(tmp_path / "data")
        settings.web.port = ports.free_port(lab.host)
        settings.ivr.menus_dir = str(ROOT / "menus")
        settings.acd.queues_file = str(ROOT / "queues" / "demo.yaml")
        settings.recording.policy_file = str(ROOT / "recording.yaml")
        for key, value in settings_overrides.items():
            section, name = key.split("__")
            setattr(getattr(settings, section), name, value)
        self.contexts = []

    async def __aenter__(self) -> "ConsoleStack":
        self.platform = Platform(self.settings, lab=self.lab)
        self.sessions = self.platform.sessions
        demo_data.seed(self.sessions, self.settings.crm.default_region)
        await self.platform.start()
        self.engine, self.acd = self.platform.engine, self.platform.engine.acd
        self.url = self.platform.url.rstrip("/")
        self.world = await world_of(self.lab)
        from playwright.async_api import async_playwright
        self._playwright = await async_playwright().start()
        self.browser = await self._playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        return self

    async def __aexit__(self, *exc) -> None:
        try:
            for context in self.contexts:
                await context.close()
            await self.browser.close()
            await self._playwright.stop()
        finally:
            self.lab.world.rx("channel request hangup all", check=False)
            await self.world.ami.stop()
            await self.platform.stop()

    async def signed_in(self, username: str, path: str = "/"):
        """A fresh browser context (its own cookies) signed in as ``username``."""
        context = await self.browser.new_context(viewport={"width": 1400, "height": 1000})
        self.contexts.append(context)
        page = await context.new_page()
        await page.goto(f"{self.url}/login?next={path}")
        await page.fill("input[name=username]", username)
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url(lambda url: "/login" not in url)
        return page

    async def new_tab(self, page):
        tab = await page.context.new_page()
        await tab.goto(page.url)
        return tab

    def segments(self, linkedid: str) -> list:
        with self.sessions() as s:
            row = interactions.by_linkedid(s, linkedid)
            return interactions.segments_of(s, row.id) if row is not None else []

    def interaction(self, linkedid: str):
        with self.sessions() as s:
            row = interactions.by_linkedid(s, linkedid)
            if row is not None:
                s.expunge(row)
            return row


async def screenshot(page, name: str) -> Path:
    """Kept as a test artefact (tests/artifacts/, not committed)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
