"""`signoff report`: one standalone HTML file with the expected sections and
nothing executable from model outputs, samples, labels or decisions."""

from __future__ import annotations

import hashlib
import base64
import re
from html.parser import HTMLParser

import pytest

from signoff.cli.main import main
from signoff.core.model import DecisionKind, Verdict
from signoff.report.html import BOOT_JS, plotly_js, thumbnail
from signoff.service.review import ReviewService
from signoff.store.store import Store
from tests.doubles import png_bomb_header, tiny_png
from tests.plugin_doubles import CONFIG, InMemorySource

XSS = ['<script>alert("out")</script>', '<img src=x onerror=alert(1)>', '</script><script>alert(2)</script>',
       '<a href="javascript:alert(3)">click</a>', '<svg onload=alert(4)>', '"><iframe src=javascript:alert(5)>']


def markup_tables() -> dict:
    ids = ["s<1>", "s2", "s3", "s4"]
    return {"qa": (
        {"id": ids, "input": [XSS[0], "q2", XSS[4], "q4"], "reference": ["right", XSS[5], "c", "d"],
         "topic": ["<b>billing</b>", "x", "y", "y"]},
        {"id": ids, "output": ["right", XSS[5], "c", "d"]},
        {"id": ids, "output": [XSS[1], XSS[2], XSS[3], "d"]},
    )}   # s<1>, s2, s3 regressed (right -> markup), s4 unchanged


@pytest.fixture
def markup_request(monkeypatch):
    store = Store()
    ci = ReviewService(store, user="ci@example.com")
    config = CONFIG.replace('predictions = "p.jsonl"', 'predictions = "p.jsonl"\nslices = ["topic"]')
    req = ci.create_request(InMemorySource(markup_tables(), config=config), sha="c1")
    alice = ReviewService(store, user="alice@example.com")
    alice.set_label(req.id, "qa", "s<1>", verdict=Verdict.BASELINE, error="unsafe", comment=XSS[0])
    alice.set_label(req.id, "qa", "s2", verdict=Verdict.BASELINE, comment=XSS[1])
    alice.decide(req.id, DecisionKind.REQUEST_CHANGES, comment=XSS[2])
    yield store, req
    store.close()


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.scripts, self._in_script, self._attrs = [], [], False, None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script, self._attrs = True, dict(attrs)
            self.scripts.append([dict(attrs), ""])

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1][1] += data


def test_report_cli_writes_the_sections_and_no_markup_from_outputs(markup_request, tmp_path, capsys):
    store, req = markup_request
    out = tmp_path / "report.html"
    assert main(["report", str(req.id), "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")

    for section in ("policy", "decisions", "summary", "charts", "regressions"):
        assert f'<section id="{section}">' in text
    assert "Policy checklist" in text and "Labeled regressions" in text
    assert "alice@example.com" in text and "request-changes" in text          # who decided what
    assert 'class="badge"' in text and "rejected" in text
    assert text.count('class="chart"') == 6                                     # every chart, inline
    assert plotly_js()[:200] in text                                            # plotly.js inline: no CDN
    assert "https://" not in re.sub(r"<script>.*?</script>", "", text, flags=re.S)      # nothing to fetch

    # Every output, comment and slice value is there as text …
    for s in XSS:
        assert s not in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text
    assert "&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in text
    # … and the only scripts are plotly.js, the boot script and JSON data blocks.
    parser = Tags()
    parser.feed(text)
    code = [body for attrs, body in parser.scripts if attrs.get("type") != "application/json"]
    assert code == [plotly_js(), BOOT_JS]
    assert not [attrs for attrs, _ in parser.scripts if "src" in attrs]                # all inline, offline
    for attrs, body in parser.scripts:
        if attrs.get("type") == "application/json":
            assert "<" not in body and ">" not in body
    for tag, attrs in parser.tags:
        assert tag not in ("iframe", "svg", "a", "object", "embed"), tag
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        if tag == "img":
            assert attrs["src"].startswith("data:image/png;base64,")
    # The CSP lets only those two scripts run, by hash.
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', text).group(1)
    for js in (plotly_js(), BOOT_JS):
        digest = base64.b64encode(hashlib.sha256(js.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";")[0]
    assert "report for request" in capsys.readouterr().err


def test_report_refuses_a_non_html_name(markup_request, tmp_path, capsys):
    _store, req = markup_request
    assert main(["report", str(req.id), "-o", str(tmp_path / "r.pdf")]) == 2
    assert ".html" in capsys.readouterr().err


def test_thumbnails_are_re_encoded_and_bombs_refused():
    uri = thumbnail(tiny_png(64, 48, (1, 2, 3)))
    assert uri.startswith("data:image/png;base64,")
    assert thumbnail(png_bomb_header()) is None
    assert thumbnail(b"<script>alert(1)</script>") is None
