"""Headless Chromium through ChromeDriver, started the same way for every browser test (the
teaching page's, tests/web/test_page.py, and the documentation's, tests/docs/docs_test.py)."""

from selenium import webdriver
from selenium.webdriver.chrome.service import Service


def chromium(chromedriver, window, profile, capabilities=None):
    """A headless Chromium of window (width, height), its profile in the folder `profile`,
    without sandbox (root), GPU, scrollbars or background network traffic."""
    options = webdriver.ChromeOptions()
    for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--hide-scrollbars", f"--window-size={window[0]},{window[1]}",
                 f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    for name, value in (capabilities or {}).items():
        options.set_capability(name, value)
    return webdriver.Chrome(service=Service(chromedriver), options=options)
