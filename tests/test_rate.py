"""``enhance rate``: the blind A/B page (made from synthetic folders, driven in headless Chromium when
Playwright and a Chromium are installed) and the analysis of votes (Wilson intervals, Bradley-Terry)."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from conftest import smooth_rgb
from enhance.cli import app
from enhance.errors import InvalidInputError
from enhance.rating import RateOptions, analyze, bradley_terry, build_page, read_votes, wilson

runner = CliRunner()
METHODS = ("gan", "fidelity", "bicubic")


def run(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("rate")
    out = []
    for m, method in enumerate(METHODS):
        folder = root / method
        folder.mkdir()
        for i in range(4):
            img = smooth_rgb(40, 56, seed=i).astype(np.int16) + 30 * m  # the methods differ visibly
            Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(folder / f"photo{i}.png")
        out.append(folder)
    return out


def test_page_is_self_contained_and_seeded(folders: list[Path]) -> None:
    page = build_page(folders, RateOptions(crop=32, seed=1))
    assert page.methods == list(METHODS) and page.images == [f"photo{i}" for i in range(4)]
    assert page.n_trials == 4 * 3 and not page.errors  # one crop per image, three pairs of methods
    # nothing to fetch: no URL in any src / href, no fetch or XHR, a CSP that forbids loads
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page.html)
    assert "fetch(" not in page.html and "XMLHttpRequest" not in page.html
    assert "default-src 'none'" in page.html
    assert _page_data(page.html)["methods"] == list(METHODS)  # the data block ends where it should
    again = build_page(folders, RateOptions(crop=32, seed=1))
    other = build_page(folders, RateOptions(crop=32, seed=2))
    assert again.html == page.html and again.page_id == page.page_id
    assert other.page_id != page.page_id


def _page_data(html: str) -> dict:  # type: ignore[type-arg]
    blob = html.split('<script type="application/json" id="rate-data">')[1].split("</script>")[0]
    return json.loads(blob.replace("<\\/", "</"))


def test_trials_cover_every_pair_with_random_sides(folders: list[Path]) -> None:
    data = _page_data(build_page(folders, RateOptions(crop=24, crops_per_image=2, seed=0)).html)
    trials = data["trials"]
    assert len(trials) == 4 * 2 * 3
    pairs = {}
    for t in trials:
        pairs.setdefault(frozenset((t["left"], t["right"])), []).append(t["left"] < t["right"])
        assert t["crop"][2:] == [24, 24] and 0 <= t["crop"][0] <= 56 - 24 and 0 <= t["crop"][1] <= 40 - 24
    assert len(pairs) == 3 and all(len(v) == 8 for v in pairs.values())
    sides = [s for v in pairs.values() for s in v]
    assert 0 < sum(sides) < len(sides)  # both sides used
    assert [t["image"] for t in trials] != sorted(t["image"] for t in trials)  # shuffled
    # one crop place per (image, crop), the same for every method
    uris = data["crops"]
    assert all(uris[t["left_crop"]].startswith("data:image/png;base64,") for t in trials)


def test_page_errors(folders: list[Path], tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="at least two folders"):
        build_page(folders[:1])
    with pytest.raises(InvalidInputError, match="no such folder"):
        build_page([folders[0], tmp_path / "missing"])
    odd = tmp_path / "odd"
    odd.mkdir()
    Image.fromarray(smooth_rgb(20, 20)).save(odd / "photo0.png")  # wrong size
    Image.fromarray(smooth_rgb(40, 56)).save(odd / "photo1.png")
    (odd / "photo2.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    page = build_page([folders[0], odd], RateOptions(crop=16))
    assert page.images == ["photo1"] and len(page.errors) == 2
    assert "odd/photo0.png: 20x20 px, but" in page.errors[0] and "photo2.png" in page.errors[1]
    code, out, err = run("rate", folders[0], odd, "-o", tmp_path / "p.html", "--crop", "16")
    assert code == 1 and (tmp_path / "p.html").is_file() and len(err.strip().splitlines()) == 2
    code, out, err = run("rate", folders[0], tmp_path / "missing", "-o", tmp_path / "q.html")
    assert code == 1 and err.strip() == f"error: {tmp_path / 'missing'}: no such folder"


def test_wilson_interval() -> None:
    lo, hi = wilson(8, 10)
    assert (lo, hi) == pytest.approx((0.4902, 0.9433), abs=1e-4)  # the textbook example
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == pytest.approx(1.0)
    assert wilson(0, 0) == (0.0, 1.0)


def test_bradley_terry_recovers_strengths() -> None:
    p, prior = bradley_terry(np.array([[0, 30], [10, 0]]))
    assert not prior and p[0] / p[1] == pytest.approx(3.0)  # two players: the ratio of their wins
    truth = np.array([0.5, 0.3, 0.2])
    rng = np.random.default_rng(0)
    wins = np.zeros((3, 3))
    for i in range(3):
        for j in range(i + 1, 3):
            k = rng.binomial(4000, truth[i] / (truth[i] + truth[j]))
            wins[i, j], wins[j, i] = k, 4000 - k
    p, prior = bradley_terry(wins)
    assert not prior and p == pytest.approx(truth, abs=0.01)
    p, prior = bradley_terry(np.array([[0, 5, 3], [0, 0, 2], [0, 1, 0]]))  # method 0 never lost
    assert prior and p[0] > p[1] > 0 and np.isfinite(p).all()


def _votes_file(path: Path, counts: dict[tuple[str, str], int], rater: str = "ann") -> Path:
    votes = [{"winner": w, "loser": lo, "image": "x", "choice": "left"} for (w, lo), n in counts.items() for _ in range(n)]
    path.write_text(json.dumps({"format": "enhance-rate-votes/1", "methods": list(METHODS), "rater": rater,
                                "votes": votes}))
    return path


def test_analyze_votes_files(tmp_path: Path) -> None:
    a = _votes_file(tmp_path / "a.json", {("gan", "fidelity"): 8, ("fidelity", "gan"): 2, ("gan", "bicubic"): 9,
                                          ("bicubic", "gan"): 1})
    b = _votes_file(tmp_path / "b.json", {("fidelity", "bicubic"): 7, ("bicubic", "fidelity"): 3}, rater="bob")
    votes, methods = read_votes([a, b])
    result = analyze(votes, methods)
    assert result.n_votes == 30 and [m.name for m in result.methods] == ["gan", "fidelity", "bicubic"]
    gan = result.methods[0]
    assert (gan.wins, gan.comparisons) == (17, 20) and gan.interval == pytest.approx(wilson(17, 20))
    pair = next(p for p in result.pairs if {p.a, p.b} == {"gan", "fidelity"})
    assert (pair.a, pair.a_wins, pair.comparisons) == ("gan", 8, 10)
    assert pair.interval == pytest.approx((0.4902, 0.9433), abs=1e-4)
    code, out, err = run("rate", "--analyze", a, b, "--json", tmp_path / "r.json")
    assert code == 0 and "gan" in out and "17 / 20" in out and "85.0 %" in out, out + err
    d = json.loads((tmp_path / "r.json").read_text())
    assert d["methods"][0]["name"] == "gan" and d["n_votes"] == 30
    (tmp_path / "bad.json").write_text("{not json")
    code, out, err = run("rate", "--analyze", tmp_path / "bad.json")
    assert code == 1 and err.startswith("error: ") and "bad.json" in err and len(err.strip().splitlines()) == 1


def _chromium() -> str | None:
    for name in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def test_page_in_headless_chromium(folders: list[Path], tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (and apt install chromium)")
    exe = _chromium()
    if exe is None:
        pytest.skip("no Chromium installed (apt install chromium)")
    page_path = tmp_path / "rate.html"
    code, out, err = run("rate", *folders, "-o", page_path, "--crop", "32", "--seed", "3")
    assert code == 0, out + err
    data = _page_data(page_path.read_text())
    n = len(data["trials"])
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        try:
            context = browser.new_context(accept_downloads=True)
            page = context.new_page()
            problems: list[str] = []
            requests: list[str] = []
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_path.as_uri())
            assert page.text_content("#progress") == f"1 / {n}"
            page.keyboard.press("ArrowLeft")
            page.keyboard.press("ArrowRight")
            page.keyboard.press("1")
            page.keyboard.press("Backspace")  # undo the third choice
            page.keyboard.press("+")
            page.keyboard.press("+")
            assert page.text_content("#zoom-level") == "2x"
            assert page.eval_on_selector("#img-left", "e => e.style.width") == "64px"
            page.set_viewport_size({"width": 400, "height": 300})  # 180x210 px views: a zoomed crop scrolls
            for _ in range(5):
                page.keyboard.press("+")
            assert page.text_content("#zoom-level") == "8x"
            synced = page.evaluate("""() => new Promise(done => {
                const [l, r] = [document.getElementById('view-left'), document.getElementById('view-right')];
                l.scrollLeft = 40; l.scrollTop = 30;
                setTimeout(() => done([l.scrollLeft, r.scrollLeft, r.scrollTop]), 100);
            })""")
            assert synced == [40, 40, 30]  # both sides pan together
            page.keyboard.press("0")
            page.fill("#rater", "tester")
            page.keyboard.press("Enter")
            page.reload()  # the progress survives a reload (localStorage)
            assert page.text_content("#progress") == f"3 / {n}" and page.is_visible("#resumed")
            for i in range(n - 2):
                page.keyboard.press("ArrowLeft" if i % 2 else "ArrowRight")
            assert page.is_visible("#done") and not page.is_visible("#arena")
            with page.expect_download() as info:
                page.click("#save-done")
            download = info.value
            assert download.suggested_filename == f"votes-{data['page_id']}-tester.json"
            votes_path = tmp_path / download.suggested_filename
            download.save_as(votes_path)
            assert not problems, problems
            assert {u.split(":")[0] for u in requests} <= {"file", "data", "blob"}, requests
        finally:
            browser.close()
    saved = json.loads(votes_path.read_text())
    assert saved["format"] == "enhance-rate-votes/1" and saved["rater"] == "tester" and saved["page_id"] == data["page_id"]
    assert len(saved["votes"]) == n and [v["trial"] for v in saved["votes"]] == list(range(n))
    choices = ["left", "right"] + ["right" if i % 2 == 0 else "left" for i in range(n - 2)]
    for vote, trial, choice in zip(saved["votes"], data["trials"], choices):
        left, right = data["methods"][trial["left"]], data["methods"][trial["right"]]
        assert (vote["left"], vote["right"], vote["choice"]) == (left, right, choice)
        assert vote["winner"] == (left if choice == "left" else right) and vote["loser"] != vote["winner"]
        assert vote["ms"] >= 0
    code, out, err = run("rate", "--analyze", votes_path)
    assert code == 0 and f"Win rates ({n} votes)" in out
