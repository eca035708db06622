"""The studio in a real browser: Playwright drives Debian's chromium (never a browser of its own download) through
every tab on the tiny runs (conftest.py), performs each tab's main action as a user would (pick the model, upload,
brush, press the button), waits until its outputs show, saves a screenshot of each tab, and checks from the
browser's request log that the page asked nothing of any host but this machine.

Screenshots go to a temporary folder, or to $GANFORGE_SCREENSHOTS when it is set (docs/images/studio-*.png are
copied from such a run). `make browser` installs chromium (as root) and runs this test alone."""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from tests.nextframe_helpers import moving_square
from tests.studio.studio_helpers import free_port, require_gradio, smooth_image, write_png

require_gradio()
# Its waits are wall-clock (a tab's outputs within TIMEOUT_MS): `make test` runs it after the parallel workers, alone.
pytestmark = pytest.mark.alone

from ganforge.imaging import save_animation  # noqa: E402
from ganforge.studio.app import build_app, launch  # noqa: E402
from ganforge.studio.context import StudioContext  # noqa: E402

CHROMIUM = "/usr/bin/chromium"  # Debian's package; GANFORGE_CHROMIUM names another Chromium executable
CHROMIUM_HINT = (f"the browser test needs Debian's chromium ({CHROMIUM}, not found): run `make chromium` as root (it "
                 "runs apt-get install -y --no-install-recommends chromium), or set GANFORGE_CHROMIUM to a Chromium "
                 "executable")
PLAYWRIGHT_HINT = "the browser test needs Playwright's Python package, in the test extra: run `make setup`"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
TIMEOUT_MS = 30_000  # any one wait of Playwright (a click, an upload)
VIEWPORT = {"width": 1280, "height": 900}


def chromium_path() -> str:
    """The Chromium executable to launch, or a one-line failure that says how to install it (never a skip)."""
    given = os.environ.get("GANFORGE_CHROMIUM")
    found = given if given else (CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium"))
    if not found or not os.access(found, os.X_OK):
        pytest.fail(f"GANFORGE_CHROMIUM={given} is not an executable" if given else CHROMIUM_HINT, pytrace=False)
    return found


def leaves_machine(url: str) -> bool:
    """Whether a request goes to a host other than this machine (data: and blob: URLs are no request at all)."""
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob"):
        return False
    return parts.hostname not in LOCAL_HOSTS


# ---------------------------------------------------------------------------------------------------- the tabs
@dataclass
class Tab:
    """What the test sees of one open tab: the page, the tab's panel and the inputs written for it."""

    page: object  # playwright Page
    panel: object  # Locator of the tab's panel
    inputs: dict[str, Path]

    def block(self, label: str):
        """The component whose label starts with `label`."""
        labels = self.page.locator("label[data-testid=block-label]", has_text=re.compile(rf"^\s*{re.escape(label)}"))
        return self.panel.locator(".block", has=labels).last

    def upload(self, path: Path, index: int = 0) -> None:
        self.panel.locator("input[type=file]").nth(index).set_input_files(str(path))

    def stroke(self, label: str, points: list[tuple[float, float]]) -> None:
        """A brush stroke on the image editor `label` through `points` (fractions of its canvas)."""
        editor = self.block(label)
        placeholder = editor.get_by_text("Upload an image")
        placeholder.wait_for(state="hidden")  # the background is in
        canvas = editor.locator("canvas").first
        box = canvas.bounding_box()
        xy = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
        self.page.mouse.move(*xy[0])
        self.page.mouse.down()
        for x, y in xy[1:]:
            self.page.mouse.move(x, y, steps=2)  # each move repaints the canvas (in software): few of them
        self.page.mouse.up()
        self.page.mouse.move(0, 0)  # the brush's outline out of the screenshot


def upload_editor_background(tab: Tab, label: str, path: Path) -> None:
    """An image into the editor `label`, waited for until the editor has fitted it (its zoom changes)."""
    editor = tab.block(label)
    zoom = editor.get_by_text(re.compile(r"^\d+%$"))
    before = zoom.inner_text()
    tab.upload(path)
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while zoom.inner_text() == before and time.monotonic() < deadline:
        tab.page.wait_for_timeout(50)


def fill(tab: Tab, fields: dict[str, str]) -> None:
    """Type into the fields labelled so (the first field whose label starts with the key)."""
    for label, value in fields.items():
        tab.panel.get_by_label(label).first.fill(value)


def choose(tab: Tab, option: str, dropdown: str | None = None) -> None:
    """Pick `option` in the dropdown labelled `dropdown` (default: the tab's first, its model picker) as a user does:
    open it, click the option."""
    box = tab.panel.get_by_role("combobox", name=dropdown, exact=True) if dropdown else tab.panel.get_by_role("combobox")
    box = box.first
    box.click()
    tab.page.get_by_role("option").filter(has_text=re.compile(rf"^\W*{re.escape(option)}$")).click()
    assert box.input_value() == option, (dropdown, box.input_value())


def inpaint_steps(tab: Tab) -> None:
    label = "Image: brush over what to fill"
    upload_editor_background(tab, label, tab.inputs["photo"])
    tab.stroke(label, [(0.42, 0.35), (0.5, 0.45), (0.58, 0.55)])


def edit_steps(tab: Tab) -> None:
    label = "Image (paint colour strokes on it for a strokes edit)"
    upload_editor_background(tab, label, tab.inputs["photo64"])
    tab.stroke(label, [(0.3, 0.3), (0.5, 0.4), (0.7, 0.5)])


def paint_steps(tab: Tab) -> None:
    tab.panel.get_by_text(re.compile(r"^\d+ classes$")).wait_for()  # the model's classes: the canvas and brushes set
    tab.stroke("Label map: paint", [(0.35, 0.3), (0.5, 0.5), (0.65, 0.7)])


def train_steps(tab: Tab) -> None:
    """A tiny DCGAN on digits (built in, nothing fetched), a grid of samples after a few steps; the studio's close
    stops it at the end of the module."""
    choose(tab, "digits", "Data")
    fill(tab, {"Resolution (px)": "16", "kimg (the run's total": "1000", "Minutes (0 = none)": "1",
               "Batch (0 = the task's)": "32", "Width (0 = the model's)": "8",
               "Further train options": "--z-dim 16 --tick 0.032 --sample-every 0.32 --checkpoint-every 100 "
                                        "--grid-size 16 --precision fp32"})


@dataclass(frozen=True)
class TabAction:
    """How the test uses one tab: the model to pick (a key of the studio's models, see `browser_studio`; None keeps
    the tab's own default), what to do before pressing `button` (uploads, strokes, fields), the labels of the outputs
    that must then show an image, a pattern the status line must match, and texts the tab's table must hold."""

    model: str | None
    button: str
    outputs: tuple[str, ...]
    says: str
    steps: Callable[[Tab], None] | None = None
    cells: tuple[str, ...] = ()
    drawn: tuple[str, ...] = ()  # CSS selectors that must match inside the tab (a chart's lines)
    timeout_s: float = 30.0  # loading a model and running it on the tiny runs takes well under a second


# One entry per tab of the studio: the test fails for a tab that has none (a new tab gets its entry here).
ACTIONS: dict[str, TabAction] = {
    "Generate": TabAction("zoo:emoji-32", "Generate", ("Samples",), r"16 images of 32x32 px"),
    "Generate from text": TabAction("t2i", "Generate", ("Images (a row per sentence)",),
                                    r"2 sentences x 4: 8 images of 16x16 px"),
    "Translate": TabAction("pix2pix", "Translate", ("Translated",), r"64x64 px, AtoB",
                           steps=lambda tab: tab.upload(tab.inputs["photo64"])),
    "Paint labels": TabAction("spade", "Render", ("Rendered", "Label map rendered"), r"classes 0, 1\b",
                              steps=paint_steps),
    "Inpaint": TabAction("inpaint", "Fill", ("Filled", "Mask used"), r"128x128 px, [1-9]\d* pixels filled",
                         steps=inpaint_steps),
    "Edit": TabAction("zoo:emoji-32", "Edit", ("Reconstruction", "Edited"),
                      r"inverted \(optimize, 100 steps\) and strokes followed", steps=edit_steps),
    "Upscale": TabAction("sr", "Upscale", ("Bicubic (left) | model (right)",), r"64x64 -> 128x128 px \(x2\)",
                         steps=lambda tab: tab.upload(tab.inputs["photo64"])),
    "Predict": TabAction("nf", "Predict", ("Observed, then predicted", "Strip:"), r"\+ 2 predicted frames",
                         steps=lambda tab: tab.upload(tab.inputs["clip"])),
    "Video": TabAction("vgan", "Sample clips", ("Clips (GIF)",), r"8 clips of 4 frames of 16x16 px"),
    # An export with data given: nothing is recorded into the shared runs. Inception is a stub (browser_studio).
    "Evaluate": TabAction("export", "Evaluate", (), r"evaluated in [\d.]+ s", cells=("n_fake", "fid8"),
                          steps=lambda tab: fill(tab, {"n (samples)": "8", "Data": "digits"})),
    "Train": TabAction(None, "Start", ("Newest samples",), r"training\. [\d.]+ kimg", steps=train_steps,
                       drawn=("#train-losses svg polyline",),  # the loss chart has its lines
                       timeout_s=120.0),  # a child process: torch's import, the data, then ten steps
}


# ---------------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def browser_studio(tmp_path_factory, studio_runs, studio_clip_runs):
    """The studio with the default limits on every tiny run, linked into its runs folder (so that the pickers, and
    the screenshots, show `run: NAME`; the Train tab's run goes there too) and the export in its models folder,
    served until the module ends with the Inception extractor a stub (tests/metric_stubs.py); and the files the tabs
    upload."""
    from tests.metric_stubs import PoolFeatures

    root = tmp_path_factory.mktemp("studio-browser")
    runs = root / "runs"
    runs.mkdir()
    trained = {k: studio_runs[k] for k in ("dcgan", "cond", "pix2pix", "cyclegan", "inpaint", "sr", "t2i")}
    trained.update({k: studio_clip_runs[k] for k in ("spade", "nf", "vgan")})
    for name, path in trained.items():
        (runs / name).symlink_to(path, target_is_directory=True)
    inputs = {"photo": write_png(root / "photo.png", smooth_image(128, seed=2)),
              "photo64": write_png(root / "photo64.png", smooth_image(64, seed=3)),
              "clip": save_animation(moving_square(6, 48, 12, (4, 8), (3, 2)), root / "square.gif")}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("ganforge.metrics.compute.get_extractor", lambda *a, **k: PoolFeatures())
        ctx = StudioContext(runs_dir=runs, models_dir=studio_runs["models"])
        app = build_app(ctx)
        url = launch(app, ctx, port=free_port(), quiet=True)
        values = {**{k: str(runs / k) for k in trained}, "export": str(studio_runs["export"]),
                  "zoo:emoji-32": "zoo:emoji-32"}
        labels = {e.value: e.label for e in ctx.models()}
        yield {"url": url, "labels": {k: labels[v] for k, v in values.items()}, "inputs": inputs}
        app.close()
        ctx.close()


@pytest.fixture
def screenshots(tmp_path) -> Path:
    folder = Path(os.environ.get("GANFORGE_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# ---------------------------------------------------------------------------------------------------- the test
def wait_for_outputs(tab: Tab, action: TabAction, title: str) -> None:
    """Until every output shows an image with a source, the status line matches and the table holds its cells; an
    error toast fails at once with its message."""
    images = [tab.block(label).locator("img") for label in action.outputs]
    status = tab.panel.locator("[data-testid=markdown]").filter(has_text=re.compile(action.says))
    cells = [tab.panel.get_by_role("gridcell").filter(has_text=re.compile(rf"^\s*{re.escape(c)}\s*$"))
             for c in action.cells]
    drawn = [tab.panel.locator(selector) for selector in action.drawn]
    toast = tab.page.locator(".toast-body")
    deadline = time.monotonic() + action.timeout_s
    while True:
        if toast.count():
            pytest.fail(f"the {title} tab showed an error: {' | '.join(toast.all_inner_texts())}", pytrace=False)
        shown = all(i.count() and all(i.nth(k).get_attribute("src") for k in range(i.count())) for i in images)
        if shown and status.count() and all(c.count() for c in cells) and all(d.count() for d in drawn):
            return
        if time.monotonic() > deadline:
            texts = tab.panel.locator("[data-testid=markdown]").all_inner_texts()
            pytest.fail(f"the {title} tab did not show its outputs {action.outputs}, status /{action.says}/ and cells "
                        f"{action.cells} in {action.timeout_s:.0f} s (images: {[i.count() for i in images]}; cells: "
                        f"{[c.count() for c in cells]}; drawn: {[d.count() for d in drawn]}; status lines: {texts})",
                        pytrace=False)
        tab.page.wait_for_timeout(100)


def settle(page, uploads: set, quiet_s: float = 0.3, limit_s: float = 10.0) -> None:
    """Until no upload has been in flight for `quiet_s`: Gradio's image editors upload their layers again whenever
    the page changes, and a screenshot (or closing the browser) mid-upload catches them half done."""
    deadline = time.monotonic() + limit_s
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < quiet_s and time.monotonic() < deadline:
        page.wait_for_timeout(50)  # the browser's events are delivered while Playwright waits
        if uploads:
            quiet_since = time.monotonic()


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


@pytest.mark.timeout(900)  # its fixtures train the tiny runs, and the close waits for the training's checkpoint
def test_every_tab_in_a_browser_and_nothing_leaves_the_machine(browser_studio, screenshots):
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(PLAYWRIGHT_HINT, pytrace=False)

    requests: list[str] = []
    blocked: list[str] = []
    uploads: set = set()  # requests to /gradio_api/upload still in flight

    def guard(route) -> None:  # nothing may leave the machine, even where the assertion below would catch it
        if leaves_machine(route.request.url):
            blocked.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            context = browser.new_context(viewport=VIEWPORT, service_workers="block")
            context.set_default_timeout(TIMEOUT_MS)
            context.on("request", lambda request: requests.append(request.url))
            context.on("request", lambda request: uploads.add(request) if "/gradio_api/upload" in request.url else None)
            context.on("requestfinished", lambda request: uploads.discard(request))
            context.on("requestfailed", lambda request: uploads.discard(request))
            context.route("**/*", guard)
            page = context.new_page()
            page.on("websocket", lambda socket: requests.append(socket.url))
            page.goto(browser_studio["url"])
            tabs = page.get_by_role("tablist").first.get_by_role("tab")
            tabs.first.wait_for()
            titles = tabs.all_inner_texts()
            missing = [t for t in titles if t not in ACTIONS]
            assert not missing, f"the studio's tabs {missing} have no entry in ACTIONS ({Path(__file__).name})"
            gone = [t for t in ACTIONS if t not in titles]
            assert not gone, f"ACTIONS holds {gone}, which the studio does not show (its tabs: {titles})"
            page.wait_for_load_state("networkidle")  # the page-load events (pickers relisted, Paint's canvas) done
            for title in titles:
                action, began = ACTIONS[title], time.monotonic()
                page.get_by_role("tablist").first.get_by_role("tab", name=title, exact=True).click()
                tab = Tab(page, page.get_by_role("tabpanel").first, browser_studio["inputs"])
                if action.model is not None:
                    choose(tab, browser_studio["labels"][action.model])
                if action.steps is not None:
                    action.steps(tab)
                tab.panel.get_by_role("button", name=action.button, exact=True).click()
                wait_for_outputs(tab, action, title)
                settle(page, uploads)
                page.mouse.move(0, 0)  # no hover on the screenshot
                page.screenshot(path=str(screenshots / f"studio-{slug(title)}.png"), full_page=True)
                print(f"{title}: {time.monotonic() - began:.1f} s")  # shown with pytest -s
        finally:
            browser.close()

    assert requests, "the browser's request log is empty: the recording is broken"
    offenders = sorted({u for u in requests if leaves_machine(u)} | set(blocked))
    assert not offenders, f"the page made requests beyond this machine: {offenders}"
    unsaved = [t for t in titles if not (screenshots / f"studio-{slug(t)}.png").is_file()]
    assert not unsaved, f"no screenshot of {unsaved} in {screenshots}"
