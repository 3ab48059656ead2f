"""The portal's repository, tag and manifest pages in a real browser: content pushed over the registry
protocol (an image with two tags, a cosign signature, a two-platform index with a BuildKit attestation),
then read, commented on and deleted through the pages, with and without JavaScript."""

from __future__ import annotations

import json

import pytest
from selenium.webdriver.common.by import By

from selenium.common.exceptions import TimeoutException

from browser import (
    assert_clean,
    check_accessibility,
    emulate_color_scheme,
    open_page,
    screenshots,
    sign_in,
    submit_form,
    texts,
    wait_for,
    wait_for_page,
)
from ocihelpers import MT_OCI_CONFIG, MT_OCI_EMPTY, MT_OCI_INDEX, MT_OCI_LAYER_GZIP, MT_OCI_MANIFEST, sha256

ALICE = ("alice", "alice password 1")


@pytest.fixture
def registry(wharf_factory):
    wharf = wharf_factory(tls=True, auth=True)
    wharf.create_user(*ALICE)
    return wharf


class Pusher:
    """Pushes blobs and manifests as alice with Basic credentials."""

    def __init__(self, wharf, name: str):
        self.wharf, self.name = wharf, name
        self.session = wharf.session()
        self.session.auth = ALICE

    def blob(self, data: bytes) -> str:
        digest = sha256(data)
        r = self.session.post(self.wharf.url(f"/v2/{self.name}/blobs/uploads/?digest={digest}"), data=data)
        assert r.status_code == 201, r.text
        return digest

    def manifest(self, document: dict, media_type: str, reference: str | None = None) -> tuple[str, int]:
        data = json.dumps(document).encode()
        digest = sha256(data)
        r = self.session.put(self.wharf.url(f"/v2/{self.name}/manifests/{reference or digest}"), data=data,
                             headers={"Content-Type": media_type})
        assert r.status_code == 201, r.text
        return digest, len(data)

    def image(self, arch: str, tag: str | None = None, variant: str | None = None) -> tuple[str, int]:
        config = {"architecture": arch, "os": "linux", "created": "2026-01-02T03:04:05Z",
                  "config": {"Env": ["PATH=/usr/bin", "DB_PASSWORD=s3cret-value"], "Entrypoint": ["/app"],
                             "Cmd": ["--serve"], "Labels": {"org.opencontainers.image.source": "https://example.com/app"}},
                  "history": [{"created_by": "COPY app /app"}, {"created_by": "ENV PATH=/usr/bin", "empty_layer": True}]}
        if variant:
            config["variant"] = variant
        cbytes = json.dumps(config).encode()
        layer = f"layer for {arch} {variant}".encode() * 500
        document = {"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
                    "config": {"mediaType": MT_OCI_CONFIG, "digest": self.blob(cbytes), "size": len(cbytes)},
                    "layers": [{"mediaType": MT_OCI_LAYER_GZIP, "digest": self.blob(layer), "size": len(layer)}]}
        return self.manifest(document, MT_OCI_MANIFEST, tag)

    def artifact(self, artifact_type: str, tag: str | None = None) -> tuple[str, int]:
        payload = f"payload {artifact_type}".encode()
        document = {"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST, "artifactType": artifact_type,
                    "config": {"mediaType": MT_OCI_EMPTY, "digest": self.blob(b"{}"), "size": 2},
                    "layers": [{"mediaType": "application/octet-stream", "digest": self.blob(payload),
                                "size": len(payload)}]}
        return self.manifest(document, MT_OCI_MANIFEST, tag)

    def head(self, reference: str) -> int:
        return self.session.head(self.wharf.url(f"/v2/{self.name}/manifests/{reference}"),
                                 headers={"Accept": f"{MT_OCI_MANIFEST}, {MT_OCI_INDEX}"}).status_code


def push_content(wharf, name: str = "alice/app") -> dict:
    p = Pusher(wharf, name)
    single, _ = p.image("amd64", "v1")
    p.image("amd64", "latest")
    signature, _ = p.artifact("application/vnd.dev.cosign.artifact.sig.v1+json",
                              "sha256-" + single.split(":", 1)[1] + ".sig")
    amd64, amd64_size = p.image("amd64")
    arm64, arm64_size = p.image("arm64", variant="v8")
    attestation, attestation_size = p.artifact("application/vnd.in-toto+json")
    index, _ = p.manifest({"schemaVersion": 2, "mediaType": MT_OCI_INDEX, "manifests": [
        {"mediaType": MT_OCI_MANIFEST, "digest": amd64, "size": amd64_size,
         "platform": {"os": "linux", "architecture": "amd64"}},
        {"mediaType": MT_OCI_MANIFEST, "digest": arm64, "size": arm64_size,
         "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        {"mediaType": MT_OCI_MANIFEST, "digest": attestation, "size": attestation_size,
         "platform": {"os": "unknown", "architecture": "unknown"},
         "annotations": {"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": amd64}},
    ]}, MT_OCI_INDEX, "multi")
    return {"pusher": p, "single": single, "signature": signature, "amd64": amd64, "arm64": arm64,
            "attestation": attestation, "index": index}


def accessibility_problems(driver, scheme: str) -> list[str]:
    """check_accessibility() under `scheme`, once the buttons' colour transitions after the switch have ended
    (checked again until clean, for a few seconds; then the problems found)."""
    emulate_color_scheme(driver, scheme)
    try:
        try:
            wait_for(driver, lambda d: check_accessibility(d) == [], timeout=5)
        except TimeoutException:
            pass
        return check_accessibility(driver)
    finally:
        emulate_color_scheme(driver, None)


def short(digest: str) -> str:
    return digest.split(":", 1)[1][:12]


def test_repository_and_tag_pages_show_groups_platforms_referrers_and_delete_a_tag(browser, registry):
    pushed = push_content(registry)
    base = registry.base_url
    sign_in(browser, base, *ALICE)
    open_page(browser, base + "/r/alice/app")
    groups = browser.find_elements(By.CSS_SELECTOR, ".tag-group")
    assert len(groups) == 2, [g.text for g in groups]
    chips = texts(browser, ".tag-chip")
    assert sorted(chips) == ["latest", "multi", "v1"], chips
    page = browser.find_element(By.CSS_SELECTOR, "main").text
    assert "linux/amd64" in page and "linux/arm64/v8" in page and "unknown" not in page
    for digest in (pushed["single"], pushed["amd64"], pushed["arm64"], pushed["signature"], pushed["attestation"]):
        assert short(digest) in page, digest
    assert "Signature" in page and "Attestation" in page and "for linux/amd64" in page
    assert f"docker pull {registry.host}/alice/app@{pushed['single']}" in page
    assert f"docker pull {registry.host}/alice/app:multi" in page
    assert " kB" in page  # sizes
    # With JavaScript the copy buttons show.
    assert all(b.is_displayed() for b in browser.find_elements(By.CSS_SELECTOR, ".tag-group .copy-btn"))
    assert accessibility_problems(browser, "light") == []
    assert accessibility_problems(browser, "dark") == []
    screenshots(browser, "portal-repository")
    assert_clean(browser)

    # The tag page: layers, config (environment names only), build history, the signature.
    browser.find_element(By.CSS_SELECTOR, ".tag-chip[href$='/-/tags/v1']").click()
    assert browser.execute_script("return location.pathname") == "/r/alice/app/-/tags/v1"
    main = browser.find_element(By.CSS_SELECTOR, "main").text
    assert MT_OCI_LAYER_GZIP in main and "DB_PASSWORD" in main and "s3cret" not in main
    assert '["/app"]' in main and "COPY app /app" in main and "https://example.com/app" in main
    assert "Signature" in main
    assert accessibility_problems(browser, "light") == []
    assert accessibility_problems(browser, "dark") == []
    screenshots(browser, "portal-tag")
    assert_clean(browser)

    # Delete the tag through the confirmation (the JS confirm() is accepted).
    browser.find_element(By.XPATH, "//summary[normalize-space()='Delete tag']").click()
    confirm = browser.find_element(By.CSS_SELECTOR, "details[open] .confirm__body")
    assert "only the tag; the image stays while other tags point at it" in confirm.text
    html = browser.find_element(By.TAG_NAME, "html")
    confirm.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    browser.switch_to.alert.accept()
    wait_for_page(browser, html)
    assert browser.execute_script("return location.pathname") == "/r/alice/app"
    assert "Deleted the tag alice/app:v1." in browser.find_element(By.CSS_SELECTOR, ".flash").text
    assert pushed["pusher"].head("v1") == 404
    assert pushed["pusher"].head("latest") == 200
    assert sorted(texts(browser, ".tag-chip")) == ["latest", "multi"]
    assert_clean(browser)

    # A comment with markup stays inert text.
    submit_form(browser, ".comment-form", {"body": '**loud** then <img src=x onerror="alert(1)"> and <script>alert(2)</script>'})
    body = browser.find_element(By.CSS_SELECTOR, ".comment__body")
    assert "<img src=x" in body.text and "loud" in body.text
    assert body.find_elements(By.CSS_SELECTOR, "img, script") == []
    assert body.find_elements(By.CSS_SELECTOR, "strong")[0].text == "loud"
    assert_clean(browser)


def test_the_pages_work_without_javascript_and_an_index_is_deleted_with_its_tag(browser_nojs, registry):
    pushed = push_content(registry, "alice/team/web")
    base = registry.base_url
    driver = browser_nojs
    sign_in(driver, base, *ALICE)
    open_page(driver, base + "/r/alice/team/web")
    assert sorted(texts(driver, ".tag-chip")) == ["latest", "multi", "v1"]
    # Without JavaScript the copy buttons stay hidden; the commands are there to select.
    assert not any(b.is_displayed() for b in driver.find_elements(By.CSS_SELECTOR, ".copy-btn"))
    assert f"docker pull {registry.host}/alice/team/web:multi" in driver.find_element(By.CSS_SELECTOR, "main").text
    # Star without JavaScript.
    submit_form(driver, "form:has(input[name=star])")
    assert "★ Starred" in driver.find_element(By.CSS_SELECTOR, ".page-head__actions").text
    # The index's page: both platforms link their manifests; the attestation is a referrer.
    driver.find_element(By.CSS_SELECTOR, ".tag-chip[href$='/-/tags/multi']").click()
    main = driver.find_element(By.CSS_SELECTOR, "main").text
    assert "linux/amd64" in main and "linux/arm64/v8" in main and "unknown/unknown" not in main
    assert "Attestation" in main
    links = [a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, "table a")]
    assert any(l.endswith(pushed["arm64"].replace(":", "%3A")) for l in links), links
    assert accessibility_problems(driver, "light") == []
    assert accessibility_problems(driver, "dark") == []
    screenshots(driver, "portal-index-nojs")
    # Delete the whole manifest: the confirmation names every tag that goes.
    driver.find_element(By.XPATH, "//summary[normalize-space()='Delete manifest']").click()
    confirm = driver.find_element(By.CSS_SELECTOR, "details[open] .confirm__body")
    assert "every tag pointing at it: multi" in confirm.text
    screenshots(driver, "portal-delete-confirm-nojs")
    submit_form(driver, confirm.find_element(By.TAG_NAME, "form"))
    assert driver.execute_script("return location.pathname") == "/r/alice/team/web"
    assert pushed["pusher"].head("multi") == 404
    assert pushed["pusher"].head(pushed["index"]) == 404
    assert sorted(texts(driver, ".tag-chip")) == ["latest", "v1"]
    assert_clean(driver)
