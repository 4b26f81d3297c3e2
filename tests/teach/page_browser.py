"""The lesson page in a real browser: Debian's chromium, headless, opens the page from disk and,
through the DevTools protocol (--remote-debugging-pipe: no port, no network), checks at 390 and
1280 CSS pixels wide that

  - every step has its Python, its C++ and its outputs;
  - every plot renders with a non-zero size;
  - the console shows no error and no exception is thrown;
  - no request is attempted besides the page's own file;
  - the text does not scroll sideways (code blocks and tables may, inside their own box);

and writes screenshots of each width beside the page: its top (lesson-390.png, lesson-1280.png)
and the whole CharRnn step (lesson-390-char-rnn.png, ...).

    python3 tests/teach/page_browser.py build/page/lesson.html
"""
import base64
import fcntl
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading

WIDTHS = ((390, 844, True), (1280, 900, False))  # a phone's width, and a laptop's
SHOWN_STEP = "char-rnn"  # the step screenshotted whole: a model with every kind of output

CHECKS_JS = r"""
(() => {
  const inside = (e) => e.parentElement && e.parentElement.closest('pre, .scroll, svg');
  const vw = document.documentElement.clientWidth;
  const steps = [...document.querySelectorAll('section.step')].map((s) => ({
    id: s.id,
    python: s.querySelectorAll('figure.code.python pre').length,
    cpp: s.querySelectorAll('figure.code.cpp pre').length,
    outputs: s.querySelectorAll('.outputs figure.out').length,
    printed: (s.querySelector('.outputs') || {innerText: ''}).innerText.trim().length,
  }));
  const plots = [...document.querySelectorAll('svg.plot')].map((svg) => {
    const r = svg.getBoundingClientRect();
    return {label: svg.getAttribute('aria-label'), width: r.width, height: r.height,
            marks: svg.querySelectorAll('path, circle').length};
  });
  // A box past the viewport's edge, or text running out of its box (white-space: nowrap).
  const scrolls = (e) => e.matches('pre, .scroll, svg');
  const wide = [...document.querySelectorAll('body *')]
    .filter((e) => !inside(e) && (e.getBoundingClientRect().right > vw + 0.5 ||
                                  (!scrolls(e) && e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 0)))
    .map((e) => `${e.tagName.toLowerCase()}.${e.className} "${(e.textContent || '').trim().slice(0, 50)}"`);
  return {steps, plots, wide: wide.slice(0, 10), scrollWidth: document.scrollingElement.scrollWidth,
          clientWidth: vw, resources: performance.getEntriesByType('resource').map((r) => r.name)};
})()
"""


class Browser:
    """chromium with the DevTools protocol on fds 3 (commands in) and 4 (answers out), messages
    ended by NUL."""

    def __init__(self, executable, profile):
        to_browser_r, to_browser_w = os.pipe()
        from_browser_r, from_browser_w = os.pipe()
        # Out of the way of 3 and 4, which the child gets them as.
        child_in = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
        child_out = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
        for fd in (to_browser_r, from_browser_w):
            os.close(fd)

        def pipes_as_3_and_4():
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)

        self.proc = subprocess.Popen(
            [executable, "--headless=new", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             f"--user-data-dir={profile}", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-default-apps", "--mute-audio", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            preexec_fn=pipes_as_3_and_4, pass_fds=(3, 4))
        os.close(child_in)
        os.close(child_out)
        self.out = os.fdopen(to_browser_w, "wb", buffering=0)
        self.answers, self.events = {}, queue.Queue()
        self.lock, self.next_id = threading.Condition(), 0
        threading.Thread(target=self.read, args=(os.fdopen(from_browser_r, "rb", buffering=0),), daemon=True).start()

    def read(self, stream):
        pending = b""
        while True:
            chunk = stream.read(65536)
            if not chunk:
                with self.lock:
                    self.answers[None] = "closed"
                    self.lock.notify_all()
                self.events.put(None)  # wakes wait_for
                return
            pending += chunk
            while b"\0" in pending:
                message, pending = pending.split(b"\0", 1)
                m = json.loads(message)
                if "id" in m:
                    with self.lock:
                        self.answers[m["id"]] = m
                        self.lock.notify_all()
                else:
                    self.events.put(m)

    def send(self, method, session=None, **params):
        with self.lock:
            self.next_id += 1
            i = self.next_id
        message = {"id": i, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self.out.write(json.dumps(message).encode() + b"\0")
        with self.lock:
            while i not in self.answers:
                if None in self.answers:
                    raise self.closed()
                self.lock.wait()
            answer = self.answers.pop(i)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]

    # Waits for chromium's answer or its end, however long a busy machine makes it take.
    def wait_for(self, method, seen):
        while (event := self.events.get()) is not None:
            seen.append(event)
            if event["method"] == method:
                return
        raise self.closed()

    def closed(self):
        return RuntimeError(f"chromium closed the pipe ({self.proc.stderr.read().decode()[-500:]})")

    def close(self):
        try:
            self.send("Browser.close")
        except RuntimeError:
            pass
        self.proc.communicate()  # reads what it still writes to stderr, then waits for its exit


def problems_in_events(events, page_url):
    found = []
    for e in events:
        method, params = e["method"], e.get("params", {})
        if method == "Network.requestWillBeSent" and params["request"]["url"] != page_url:
            found.append(f"a request for {params['request']['url']}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            found.append(f"console error: {[a.get('value', a.get('description')) for a in params['args']]}")
        elif method == "Runtime.exceptionThrown":
            found.append(f"exception: {params['exceptionDetails'].get('text')}")
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            found.append(f"console error: {params['entry'].get('text')} ({params['entry'].get('url', '')})")
    return found


def problems_on_page(r, width):
    found = []
    if len(r["steps"]) < 10:
        found.append(f"only {len(r['steps'])} steps")
    for s in r["steps"]:
        missing = [what for what in ("python", "cpp", "outputs") if s[what] < 1]
        if missing or s["printed"] == 0:
            found.append(f"step {s['id']} lacks its {', '.join(missing) or 'printed outputs'}")
    if not r["plots"]:
        found.append("no plot")
    for p in r["plots"]:
        if not (p["width"] > 0 and p["height"] > 0 and p["marks"] > 0):
            found.append(f"plot {p['label']} renders {p['width']}x{p['height']} with {p['marks']} marks")
    if r["scrollWidth"] > r["clientWidth"]:
        found.append(f"the page scrolls sideways at {width} px: {r['scrollWidth']} wide; too wide: {r['wide']}")
    elif r["wide"]:
        found.append(f"text wider than {width} px: {r['wide']}")
    if r["resources"]:
        found.append(f"resources loaded: {r['resources']}")
    return found


def screenshot(browser, session, path, step_id):
    """The top of the page, or the whole of one step."""
    clip = {}
    if step_id:
        rect = browser.send("Runtime.evaluate", session, returnByValue=True, expression=(
            f"(() => {{ const r = document.getElementById('{step_id}').getBoundingClientRect();"
            " return {x: r.left + scrollX, y: r.top + scrollY, width: r.width, height: r.height}; })()"))
        clip = {"clip": {**rect["result"]["value"], "scale": 1}, "captureBeyondViewport": True}
    png = browser.send("Page.captureScreenshot", session, format="png", **clip)["data"]
    with open(path, "wb") as f:
        f.write(base64.b64decode(png))


def check_width(browser, session, url, width, height, mobile, shot):
    browser.send("Emulation.setDeviceMetricsOverride", session, width=width, height=height, deviceScaleFactor=1,
                 mobile=mobile)
    events = []
    browser.send("Page.navigate", session, url=url)
    browser.wait_for("Page.loadEventFired", events)
    result = browser.send("Runtime.evaluate", session, expression=CHECKS_JS, returnByValue=True)
    if "exceptionDetails" in result:
        raise RuntimeError(f"the checks themselves failed: {result['exceptionDetails']}")
    r = result["result"]["value"]
    screenshot(browser, session, shot, None)
    screenshot(browser, session, shot.replace(".png", f"-{SHOWN_STEP}.png"), SHOWN_STEP)
    # Chromium writes to one pipe in order, so every event it sent before answering the last
    # screenshot is queued by now; the page has no script that could send one later.
    while not browser.events.empty():
        if (event := browser.events.get()) is None:
            raise browser.closed()
        events.append(event)
    found = problems_in_events(events, url) + problems_on_page(r, width)
    print(f"{width} px: {len(r['steps'])} steps, {len(r['plots'])} plots "
          f"(smallest {min(p['width'] for p in r['plots']):.0f}x{min(p['height'] for p in r['plots']):.0f}), "
          f"page {r['scrollWidth']} px wide, {len(found)} problem(s); screenshot {shot}")
    return found


def main():
    if len(sys.argv) != 2 or not os.path.isfile(sys.argv[1]):
        sys.exit("usage: page_browser.py PAGE.html (a page docs/make_page.py wrote)")
    page = os.path.abspath(sys.argv[1])
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if not executable:
        sys.exit("page_browser: no chromium here; scripts/setup.sh installs Debian's for the tests "
                 "(CHARNN_TESTS=1 ./run.sh setup, or apt-get install chromium)")
    url = "file://" + page
    with tempfile.TemporaryDirectory(prefix="charnn-chromium-") as profile:
        browser = Browser(executable, profile)
        try:
            target = browser.send("Target.createTarget", url="about:blank")["targetId"]
            session = browser.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
            for domain in ("Page", "Runtime", "Network", "Log"):
                browser.send(f"{domain}.enable", session)
            # Overlay scrollbars: the width checked is the width laid out, before and during a
            # screenshot of the whole step (which would otherwise drop the scrollbar and reflow).
            browser.send("Emulation.setScrollbarsHidden", session, hidden=True)
            found = []
            for width, height, mobile in WIDTHS:
                shot = os.path.join(os.path.dirname(page), f"{os.path.splitext(os.path.basename(page))[0]}-{width}.png")
                found += [f"{width} px: {p}" for p in check_width(browser, session, url, width, height, mobile, shot)]
        finally:
            browser.close()
    if found:
        print("\n".join(found))
        sys.exit(f"page_browser: {len(found)} problem(s) in {page}")
    print(f"page_browser: {page} passes at {' and '.join(str(w) for w, _, _ in WIDTHS)} px")


if __name__ == "__main__":
    main()
