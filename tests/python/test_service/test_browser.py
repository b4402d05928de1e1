"""The web view in a real headless browser (Debian's chromium through chromedriver and
Selenium; issue #15): sign in with a reviewer token, the list page shows the API's top rows
in order, a pair page shows the forest plot image, a submitted review appears in the
history. Screenshots go to test-artifacts/browser/ (git-ignored; $GENEPAIR_TEST_ARTIFACTS)."""

from __future__ import annotations

import shutil

import httpx
import pytest

from support.service import ARTIFACTS, Server, copy_duckdb, create_token

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture
def browser():
    if not CHROMIUM or not CHROMEDRIVER:
        pytest.skip("Debian's chromium and chromium-driver are missing (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    flags = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1800")
    for arg in flags:
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def test_list_pair_page_forest_plot_and_a_review_in_chromium(browser, built_duckdb, tmp_path):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    shots = ARTIFACTS / "browser"
    shots.mkdir(parents=True, exist_ok=True)
    wh = copy_duckdb(built_duckdb, tmp_path / "wh")
    token = create_token(wh, "reviewer", "browser-reviewer")
    with Server(wh.env, wh.root) as server:
        params = {"q": 0.5, "k_min": 2, "i2_max": 100, "limit": 20}
        api = httpx.get(f"{server.url}/analytics/pairs/top", params=params,
                        headers={"Authorization": f"Bearer {token}"}, timeout=30).json()  # fmt: skip
        assert len(api["rows"]) == 20
        # the page re-renders the history after a review: an element read mid-render is
        # stale, and the wait simply looks again
        wait = WebDriverWait(browser, 30, ignored_exceptions=(StaleElementReferenceException,))
        browser.get(f"{server.url}/")  # no cookie yet: the sign-in page
        wait.until(ec.presence_of_element_located((By.ID, "token"))).send_keys(token)
        browser.find_element(By.ID, "sign-in").click()
        wait.until(ec.presence_of_element_located((By.ID, "pairs")))
        assert browser.find_element(By.ID, "who").text == "browser-reviewer"
        browser.get(f"{server.url}/?q=0.5&k_min=2&i2_max=100&limit=20")
        rows = wait.until(ec.presence_of_all_elements_located((By.CSS_SELECTOR, "#pairs tbody tr")))
        assert [int(r.get_attribute("data-pair-key")) for r in rows] == [r["pair_key"] for r in api["rows"]]
        first = api["rows"][0]
        cells = rows[0].find_elements(By.TAG_NAME, "td")
        assert cells[1].text == (first["genea_symbol"] or first["genea_id"])
        assert cells[2].text == (first["geneb_symbol"] or first["geneb_id"])
        assert f"{api['total']} pairs pass the filters" in browser.find_element(By.ID, "summary").text
        browser.save_screenshot(str(shots / "01-top-pairs.png"))

        cells[1].find_element(By.TAG_NAME, "a").click()
        wait.until(ec.presence_of_element_located((By.ID, "forest")))
        loaded = wait.until(
            lambda d: d.execute_script(
                "const i = document.getElementById('forest'); return i.complete && i.naturalWidth > 0 "
                "? [i.naturalWidth, i.naturalHeight] : false"
            )
        )
        assert loaded[0] > 500 and loaded[1] > 200
        src = browser.find_element(By.ID, "forest").get_attribute("src")
        assert f"/analytics/pairs/{first['pair_key']}/forest.svg" in src
        assert "no reviews yet" in browser.find_element(By.ID, "review-history").text
        browser.save_screenshot(str(shots / "02-pair-page.png"))

        Select(browser.find_element(By.ID, "verdict")).select_by_visible_text("reject")
        browser.find_element(By.ID, "confidence").send_keys("0.7")
        browser.find_element(By.ID, "rationale-input").send_keys("Effect driven by one study; I² borderline.")
        browser.find_element(By.ID, "submit-review").click()
        history = wait.until(ec.presence_of_element_located((By.ID, "review-history")))
        wait.until(lambda d: "Effect driven by one study" in d.find_element(By.ID, "review-history").text)
        history = browser.find_element(By.ID, "review-history")
        assert history.find_element(By.CSS_SELECTOR, "td.verdict").text == "reject"
        assert "browser-reviewer" in history.text
        browser.save_screenshot(str(shots / "03-review-recorded.png"))
        log = server.output()
    stored = wh.query("select verdict, confidence, reviewer, rationale from analytics.llm_reviews")
    assert stored == [("reject", 0.7, "browser-reviewer", "Effect driven by one study; I² borderline.")]
    assert token not in log
