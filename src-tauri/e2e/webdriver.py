"""A small W3C WebDriver client (stdlib only) for driving the app through tauri-driver."""

import base64
import http.client
import json
import time
import urllib.error
import urllib.request

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C element key

# Special keys of the W3C "Element Send Keys" command.
END = "\ue010"
ENTER = "\ue007"
ESCAPE = "\ue00c"


POKE = """
let mark = document.getElementById('__e2e_poke');
if (!mark) {
  mark = document.createElement('div');
  mark.id = '__e2e_poke';
  mark.style.cssText = 'position:fixed;right:0;bottom:0;width:1px;height:1px;pointer-events:none;z-index:99999';
  document.body.appendChild(mark);
}
let frames = 30;
const flicker = () => {
  mark.style.background = frames % 2 ? 'rgba(0,0,0,0.02)' : 'rgba(0,0,0,0.03)';
  if (--frames > 0) requestAnimationFrame(flicker);
};
flicker();
"""


class Timeout(AssertionError):
    """A condition did not hold before its deadline."""


def wait_for(what, fn, timeout=30.0, every=0.2):
    """Polls `fn` until it returns something truthy and returns that; raises Timeout after `timeout` s."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            value = fn()
            if value:
                return value
        except Exception as e:  # not there yet, or the page is being redrawn
            last = e
        if time.monotonic() >= deadline:
            detail = f" (last error: {last})" if last else ""
            raise Timeout(f"timed out after {timeout:.0f} s waiting for {what}{detail}")
        time.sleep(every)


class WebDriverError(RuntimeError):
    """The driver answered with an error."""


class Session:
    """One WebDriver session: one app process and its window."""

    def __init__(self, base, capabilities, timeout=60.0):
        self.base = base
        body = {"capabilities": {"alwaysMatch": capabilities}}
        # The driver may still be starting: retry until it answers.
        value = wait_for("a WebDriver session", lambda: self._call("POST", "/session", body), timeout)
        self.path = f"/session/{value['sessionId']}"

    def _call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.base + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            try:
                with urllib.request.urlopen(req, timeout=30) as resp:
                    return json.loads(resp.read() or b"null").get("value")
            except (http.client.RemoteDisconnected, ConnectionResetError):
                # tauri-driver now and then drops a connection before forwarding it (its log says
                # "IncompleteMessage"): the command never ran, so sending it again is safe.
                with urllib.request.urlopen(req, timeout=30) as resp:
                    return json.loads(resp.read() or b"null").get("value")
        except urllib.error.HTTPError as e:
            try:
                value = json.loads(e.read()).get("value", {})
                message = f"{value.get('error')}: {value.get('message')}"
            except Exception:
                message = str(e)
            raise WebDriverError(f"{method} {path}: {message}") from None

    def call(self, method, path, body=None):
        """A command of this session, e.g. `call("POST", "/elements", {...})`."""
        return self._call(method, self.path + path, body)

    def close(self):
        """Ends the session, which closes the app."""
        try:
            self._call("DELETE", self.path)
        except Exception:
            pass

    def find_all(self, css, under=None):
        """Every element matching a CSS selector (inside `under` when given)."""
        body = {"using": "css selector", "value": css}
        if under is not None:
            return self.call("POST", f"/element/{under[ELEMENT]}/elements", body)
        return self.call("POST", "/elements", body)

    def text(self, el):
        """The element's textContent (WebKitWebDriver may report "" for the rendered text)."""
        return self.call("GET", f"/element/{el[ELEMENT]}/property/textContent") or ""

    def attr(self, el, name):
        """An attribute of the element, or None."""
        return self.call("GET", f"/element/{el[ELEMENT]}/attribute/{name}")

    def click(self, el):
        self.call("POST", f"/element/{el[ELEMENT]}/click", {})

    def type(self, el, keys):
        """Sends keys to the element (focusing it first)."""
        self.call("POST", f"/element/{el[ELEMENT]}/value", {"text": keys})

    def clear(self, el):
        self.call("POST", f"/element/{el[ELEMENT]}/clear", {})

    def script(self, source, *args):
        """Runs synchronous JavaScript in the page and returns its result."""
        return self.call("POST", "/execute/sync", {"script": source, "args": list(args)})

    def script_async(self, source, *args):
        """Runs JavaScript that calls its last argument (the callback) with the result."""
        return self.call("POST", "/execute/async", {"script": source, "args": list(args)})

    def screenshot(self, path):
        """Saves a PNG of the window.

        WebKitWebDriver takes it after the page's next presentation update, and a page drawn
        without GPU compositing (the app's default, src-tauri/src/webview.rs) presents nothing
        while idle: a 1-pixel mark flickering for a few frames makes an update come."""
        self.script(POKE)
        png = base64.b64decode(self.call("GET", "/screenshot"))
        with open(path, "wb") as f:
            f.write(png)

    def wait_css(self, what, css, timeout=30.0, containing=None):
        """Waits for elements matching `css` (whose text contains `containing`, when given)."""

        def found():
            els = self.find_all(css)
            if containing is not None:
                els = [e for e in els if containing in self.text(e)]
            return els

        return wait_for(what, found, timeout)
