#!/usr/bin/env python3
"""End-to-end smoke test of the real window through tauri-driver (W3C WebDriver, stdlib only).

Usage: smoke.py APP WORKSPACE [DRIVER_URL]
APP is the tandem-desktop binary, WORKSPACE a folder made with `tandem init` that holds src/main.rs.
Opens WORKSPACE, checks the file tree and the editor, types a line and waits until it is on disk,
and waits until `tandem status` (the CLI through the control socket) answers from the app's peer
when TANDEM is set to the CLI binary. Then reviews in the editor: adds a comment from the side
panel, opens its gutter marker, replies and resolves it in the popover; with TANDEM set, adds a
suggestion through the CLI and applies it from its popover until the file on disk changes.
"""

import json
import os
import subprocess
import sys
import time
import urllib.request

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C element key


def call(base, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read() or b"null").get("value")


def wait_for(what, fn, timeout=30.0):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            value = fn()
            if value:
                return value
        except Exception as e:  # not there yet
            last = e
        time.sleep(0.25)
    raise SystemExit(f"FAIL: timed out waiting for {what} (last error: {last})")


def main():
    app, workspace = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    base = sys.argv[3] if len(sys.argv) > 3 else "http://127.0.0.1:4444"
    caps = {"capabilities": {"alwaysMatch": {"tauri:options": {"application": app, "args": [workspace]}}}}
    session = wait_for("a WebDriver session", lambda: call(base, "POST", "/session", caps))["sessionId"]
    s = f"/session/{session}"

    def find_all(css):
        return call(base, "POST", s + "/elements", {"using": "css selector", "value": css})

    def text(el):
        # textContent, not the rendered text: WebKitWebDriver may report "" for the latter here.
        return call(base, "GET", f"{s}/element/{el[ELEMENT]}/property/textContent") or ""

    try:
        files = wait_for("the file tree", lambda: [e for e in find_all("button.file") if text(e) == "main.rs"])
        call(base, "POST", f"{s}/element/{files[0][ELEMENT]}/click", {})
        content = wait_for("the editor", lambda: [e for e in find_all(".cm-content") if "fn main" in text(e)])
        print("ok: the tree lists main.rs and the editor shows it")

        call(base, "POST", f"{s}/element/{content[0][ELEMENT]}/click", {})
        line = "// typed through WebDriver"
        keys = "\ue010\n" + line  # End, newline, text
        call(base, "POST", f"{s}/element/{content[0][ELEMENT]}/value", {"text": keys})
        path = os.path.join(workspace, "src", "main.rs")
        wait_for("the edit on disk", lambda: line in open(path, encoding="utf-8").read())
        print("ok: an edit in the editor reached the file on disk")

        with open(path, "a", encoding="utf-8") as f:
            f.write("// saved on disk\n")
        wait_for("the disk save in the editor", lambda: any("saved on disk" in text(e) for e in find_all(".cm-content")))
        print("ok: a save on disk appeared in the editor")

        cli = os.environ.get("TANDEM")
        if cli:
            out = subprocess.run([cli, "status", workspace, "--json"], capture_output=True, text=True, timeout=30)
            if out.returncode != 0:
                raise SystemExit(f"FAIL: tandem status: {out.stderr.strip()}")
            status = json.loads(out.stdout)
            assert status["root"] == workspace, status["root"]
            print(f"ok: tandem status answers from the app's peer ({status['peer_id'][:16]}…)")

        def click(el):
            call(base, "POST", f"{s}/element/{el[ELEMENT]}/click", {})

        def typed(el, keys):
            call(base, "POST", f"{s}/element/{el[ELEMENT]}/value", {"text": keys})

        box = wait_for("the comment box", lambda: find_all('input[aria-label="Comment"]'))
        typed(box[0], "looks wrong\ue007")  # Enter submits
        marker = wait_for("a gutter marker", lambda: find_all(".cm-thread-marker"))
        click(marker[0])
        reply = wait_for("the thread popover", lambda: find_all('.popover input[aria-label="Reply"]'))
        typed(reply[0], "agreed\ue007")
        wait_for("the reply in the popover", lambda: any("agreed" in text(e) for e in find_all(".popover .reply")))
        click(wait_for("the Resolve button", lambda: find_all(".popover .action-resolve"))[0])
        wait_for("a dimmed marker", lambda: find_all(".cm-thread-marker.dimmed"))
        print("ok: a comment got a gutter marker, a reply and was resolved from its popover")

        if cli:
            lines = open(path, encoding="utf-8").read().split("\n")
            at = next(i for i, l in enumerate(lines) if "hello" in l) + 1
            new = '    println!("applied");'
            out = subprocess.run(
                [cli, "comment", "add", "-C", workspace, f"src/main.rs:{at}", "say it", "--suggest", new],
                capture_output=True, text=True, timeout=30,
            )
            if out.returncode != 0:
                raise SystemExit(f"FAIL: tandem comment add: {out.stderr.strip()}")
            live = wait_for("the suggestion's marker", lambda: find_all(".cm-thread-marker:not(.dimmed)"))
            click(live[0])
            click(wait_for("the Apply button", lambda: find_all(".popover .action-apply"))[0])
            wait_for("the applied suggestion on disk", lambda: "applied" in open(path, encoding="utf-8").read())
            print("ok: a suggestion from the CLI was applied from its popover")
        print("PASS")
    finally:
        call(base, "DELETE", s)


if __name__ == "__main__":
    main()
