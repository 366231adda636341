#!/usr/bin/env python3
"""End-to-end tests of the real app window with a real second peer (stdlib only).

Usage: e2e.py --app APP --cli TANDEM --workspace A --out DIR [--driver URL]

The app (driven through tauri-driver) opens workspace A; a headless `tandem` peer ("bob") joins
it by an invite code that the CLI asks the app's own peer for, into DIR/bob, and then each step
checks one thing the issue lists, printing `PASS name`, `FAIL name: why` or `SKIP name: why`,
and saves a screenshot of the window after it as DIR/NN-name.png. The last line counts them:
`e2e: N passed, M failed, K skipped`. Exits 1 when a step failed.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import traceback

from headless import CliError, HeadlessPeer, tandem
from webdriver import END, ENTER, Session, Timeout, WebDriverError, wait_for

MAIN = "src/main.rs"


class Skip(Exception):
    """The step cannot run yet (a part of the UI that has not landed)."""


class Context:
    """What the steps share: the app's session, the workspace, the headless peer."""

    def __init__(self, args):
        self.args = args
        self.workspace = os.path.abspath(args.workspace)
        self.cli = os.path.abspath(args.cli)
        self.out = os.path.abspath(args.out)
        self.session = None
        self.peer = None
        self.peer_id = None
        self.broken = None  # why the steps on the workspace cannot run

    def need_peer(self):
        if self.peer is None:
            raise AssertionError("needs the headless peer, which did not join")
        return self.peer

    def open_app(self, *app_args):
        """A new session: starts the app with `app_args` (the session before it is closed)."""
        if self.session:
            self.session.close()
        caps = {"tauri:options": {"application": os.path.abspath(self.args.app), "args": list(app_args)}}
        self.session = Session(self.args.driver, caps)
        return self.session

    def show_tab(self, name):
        """Shows a side panel tab (when the panel has tabs)."""
        tabs = self.session.find_all(f'button[data-testid="tab-{name}"]')
        if tabs:
            self.session.click(tabs[0])

    def editor_text(self):
        return "".join(self.session.text(e) for e in self.session.find_all(".cm-content"))

    def marker_showing(self, body):
        """Opens each gutter marker until one's popover shows `body`; True if one did."""
        s = self.session
        close_popover(s)  # a click on the marker of an open popover would close it
        for marker in s.find_all(".cm-thread-marker"):
            s.click(marker)
            popovers = wait_for("the thread popover", lambda: s.find_all(".popover"), timeout=5)
            shown = body in s.text(popovers[0])
            if shown:
                return popovers[0]
            close_popover(s)
        return None


def close_popover(s):
    """Closes the thread popover if one is open (its × button, clicked from script: WebKitWebDriver
    reports that button's click as intercepted)."""
    for button in s.find_all(".popover button.close"):
        s.script("arguments[0].click()", button)
    wait_for("the popover to close", lambda: not s.find_all(".popover"), timeout=5)


# --- The steps, in order. Each raises (AssertionError, Timeout, ...) to fail, Skip to skip. ---


def app_opens_the_workspace(ctx):
    """The app, started with A, lists src/main.rs and shows it in the editor."""
    s = ctx.open_app(ctx.workspace)
    files = s.wait_css("main.rs in the file tree", "button.file", containing="main.rs")
    s.click(files[0])
    wait_for("main.rs in the editor", lambda: "fn main" in ctx.editor_text())


def headless_peer_joins_by_invite(ctx):
    """`tandem -C A invite` asks the app's peer for a code; `tandem join CODE B` fills B from it."""
    status = json.loads(tandem(ctx.cli, "-C", ctx.workspace, "status", "--json"))
    assert status["root"] == ctx.workspace, f"the CLI reached a peer of {status['root']}, not the app's"
    code = tandem(ctx.cli, "-C", ctx.workspace, "invite", "--ttl", "10m").strip()
    assert code, "tandem invite printed no code"
    bob = os.path.join(ctx.out, "bob")
    ctx.peer = HeadlessPeer(ctx.cli, code, bob, "bob", os.path.join(ctx.out, "bob.log"))
    wait_for("the files on bob's disk", lambda: "fn main" in ctx.peer.read(MAIN), timeout=60)
    ctx.peer_id = wait_for("bob's control socket", ctx.peer.peer_id)


def typing_in_the_app_reaches_the_peers_disk(ctx):
    """A line typed in the app's editor is written to the same file in B."""
    peer, s = ctx.need_peer(), ctx.session
    line = "// typed in the app"
    s.type(s.find_all(".cm-content")[0], END + ENTER + line)
    wait_for("the typed line in bob's file", lambda: line in peer.read(MAIN))


def a_line_written_on_the_peers_disk_appears_in_the_editor(ctx):
    """A line appended to B's file by another program appears in the app's editor."""
    peer = ctx.need_peer()
    line = "// written on bob's disk"
    with open(peer.path(MAIN), "a", encoding="utf-8") as f:
        f.write(line + "\n")
    wait_for("bob's line in the editor", lambda: line in ctx.editor_text())


def a_comment_from_the_peers_cli_shows_in_the_gutter_and_list(ctx):
    """`tandem -C B comment add` on line 1: a gutter marker whose popover shows it, and a list row."""
    peer, s = ctx.need_peer(), ctx.session
    body = "bob asks: where is the doc comment?"
    peer.run("comment", "add", f"{MAIN}:1", body, "--kind", "question")
    ctx.show_tab("comments")
    s.wait_css("the comment in the side list", ".list li", containing=body)
    wait_for("a gutter marker showing bob's comment", lambda: ctx.marker_showing(body))
    close_popover(s)


def a_comment_made_in_the_app_reaches_the_peer(ctx):
    """A comment typed in the side panel is in `tandem -C B comments --json`."""
    peer, s = ctx.need_peer(), ctx.session
    body = "alice says: this needs a test"
    ctx.show_tab("comments")
    box = s.wait_css("the comment box", 'input[aria-label="Comment"]')
    s.type(box[0], body + ENTER)
    wait_for("the app's comment on bob", lambda: any(t["body"] == body for t in peer.json("comments")))


def a_reply_and_resolve_in_the_popover_reach_the_peer(ctx):
    """Replying in a thread's popover and resolving it there shows on B."""
    peer, s = ctx.need_peer(), ctx.session
    body = "alice says: this needs a test"
    popover = wait_for("the marker of the app's comment", lambda: ctx.marker_showing(body))
    s.type(s.find_all('input[aria-label="Reply"]', under=popover)[0], "bob, agreed" + ENTER)
    s.wait_css("the reply in the popover", ".popover .reply", containing="bob, agreed")
    s.click(s.wait_css("the Resolve button", ".popover .action-resolve")[0])

    def on_bob():
        thread = next(t for t in peer.json("comments") if t["body"] == body)
        return thread["state"] == "resolved" and any(r["body"] == "bob, agreed" for r in thread["replies"])

    wait_for("the reply and the resolution on bob", on_bob)
    close_popover(s)


def a_suggestion_from_the_peer_is_applied_from_the_app(ctx):
    """B suggests a replacement for the `hello` line; Apply in the app changes B's file."""
    peer, s = ctx.need_peer(), ctx.session
    lines = peer.read(MAIN).split("\n")
    at = next(i for i, l in enumerate(lines) if "hello" in l) + 1
    new = '    println!("hello from the suggestion");'
    peer.run("comment", "add", f"{MAIN}:{at}", "say hello properly", "--suggest", new)
    wait_for("the suggestion's marker", lambda: ctx.marker_showing("say hello properly"))
    s.click(s.wait_css("the Apply button", ".popover .action-apply")[0])
    wait_for("the applied suggestion on bob's disk", lambda: new in peer.read(MAIN))
    wait_for("the applied suggestion in the editor", lambda: "hello from the suggestion" in ctx.editor_text())
    close_popover(s)


def the_peer_is_in_the_people_panel(ctx):
    """B's row in the People panel, with its name."""
    ctx.need_peer()
    ctx.show_tab("people")
    row = f'[data-testid="person"][data-peer="{ctx.peer_id}"]'
    ctx.session.wait_css("bob's row in the People panel", row, containing="bob")


def the_peers_agent_shows_its_progress(ctx):
    """An agent registered and updated on B shows its progress and subtasks in the Agents panel."""
    peer, s = ctx.need_peer(), ctx.session
    peer.run("agent", "register", "e2e-runner", "--kind", "test-runner")
    peer.run("agent", "update", "e2e-runner", "--task", "Run the end-to-end tests", "--progress", "42",
             "--subtask", "build=done", "--subtask", "window=todo")
    ctx.show_tab("agents")
    bar = '[data-testid="agent"][data-agent="e2e-runner"] [data-testid="agent-progress"][data-progress="42"]'
    s.wait_css("e2e-runner at 42 % in the Agents panel", bar)
    s.wait_css("the task of e2e-runner", '[data-testid="agent"][data-agent="e2e-runner"]',
               containing="Run the end-to-end tests")
    agent = '[data-testid="agent"][data-agent="e2e-runner"]'
    s.wait_css("the done subtask", f'{agent} [data-testid="agent-subtask"][data-done="true"]', containing="build")
    s.wait_css("the subtask to do", f'{agent} [data-testid="agent-subtask"][data-done="false"]', containing="window")


def the_peers_metrics_are_charted(ctx):
    """B's metrics chart in the Metrics panel, with samples drawn."""
    ctx.need_peer()
    s = ctx.session
    if not s.find_all('button[data-testid="tab-metrics"]') and not s.find_all('[data-testid="metrics-chart"]'):
        raise Skip("the metrics charts are not in the UI yet (no Metrics tab, no metrics-chart)")
    ctx.show_tab("metrics")
    chart = f'[data-testid="metrics-chart"][data-peer="{ctx.peer_id}"]'

    def drawn():
        els = s.find_all(chart)
        return els and int(s.attr(els[0], "data-samples") or 0) > 0 and s.find_all("canvas", under=els[0])

    wait_for("bob's chart with samples", drawn, timeout=30)


def a_name_and_colour_chosen_in_settings_reach_the_peer(ctx):
    """Settings: a new name and a colour, taken at once (no reopening); the peer shows both."""
    peer, s = ctx.need_peer(), ctx.session
    ctx.show_tab("settings")
    field = s.wait_css("the name field", '[data-testid="settings-name"]')[0]
    s.clear(field)
    s.type(field, "alicia" + ENTER)
    s.wait_css("the new name in the window", '[data-testid="settings-shown-name"]', containing="alicia")
    s.click(s.wait_css("a colour swatch", '[data-testid="colour-42d4f4"]')[0])
    s.wait_css("the swatch marked as chosen", '[data-testid="colour-42d4f4"].current')

    def on_bob():
        return any(p["name"] == "alicia" and p.get("colour") == "#42d4f4" for p in peer.json("status")["peers"])

    wait_for("alicia in her new colour on bob", on_bob)
    field = s.find_all('[data-testid="settings-name"]')[0]
    s.clear(field)
    s.type(field, "bob" + ENTER)  # a teammate's name: refused, in words
    error = s.wait_css("the refusal", '[data-testid="settings-profile-error"]', containing="another member")
    assert "bob" in s.text(error[0]), s.text(error[0])


def a_teammates_new_name_shows_in_the_people_panel(ctx):
    """`tandem profile --name robert` on the peer: the People panel shows robert (evented, not polled)."""
    peer, s = ctx.need_peer(), ctx.session
    peer.run("profile", "--name", "robert", "--colour", "#f58231")
    ctx.show_tab("people")
    s.wait_css("robert in the People panel", f'[data-testid="person"][data-peer="{ctx.peer_id}"]', containing="robert")


def alert_thresholds_saved_in_settings_apply_at_once(ctx):
    """A CPU threshold of 0 % saved in Settings fires the cpu alert without reopening."""
    ctx.need_peer()
    s = ctx.session
    ctx.show_tab("settings")
    for key, value in (("cpu_percent", "0"), ("cpu_for_secs", "0")):
        field = s.wait_css(f"the {key} field", f'[data-testid="rule-{key}"]')[0]
        s.clear(field)
        s.type(field, value)
    s.click(s.find_all('[data-testid="rules-save"]')[0])
    s.wait_css("the saved notice", '[data-testid="settings-saved"]', containing="in force now")
    ctx.show_tab("metrics")
    s.wait_css("a cpu alert in the Metrics panel", '[data-testid="alert"][data-rule="cpu"]', timeout=30)


def dunst_history():
    """The summaries and bodies of the notifications the notification server (dunst) received
    (closed first: dunst's history holds the notifications no longer on screen)."""
    subprocess.run(["dunstctl", "close-all"], capture_output=True, timeout=10)
    out = subprocess.run(["dunstctl", "history"], capture_output=True, text=True, timeout=10)
    if out.returncode != 0:
        raise AssertionError(f"dunstctl history failed: {out.stderr.strip()}")
    texts = []
    for group in json.loads(out.stdout).get("data", []):
        for n in group:
            texts.append(f"{n['summary']['data']}: {n['body']['data']}")
    return texts


def a_mention_raises_a_native_notification(ctx):
    """With the window in the background, @alicia in the peer's chat reaches the desktop's
    notification server (dunst on the virtual display) as "robert mentioned you"."""
    peer = ctx.need_peer()
    if not os.environ.get("TANDEM_NOTIFICATIONS"):
        raise Skip("no notification server here (needs dbus-run-session and dunst)")
    # The app notifies only when its window is not focused (in the window, a notice shows it):
    # the keyboard focus goes to the root window, as when the user switches to another program.
    xdo = lambda *a: subprocess.run(["xdotool", *a], capture_output=True, text=True, timeout=10).stdout.split()
    window = xdo("search", "--name", "^Tandem")
    assert window, "the app's window was not found on the display"
    root = xdo("search", "--maxdepth", "0", "--name", "")
    assert root, "the root window was not found"
    xdo("windowfocus", "--sync", root[0])
    try:
        peer.run("chat", "send", "@alicia the build is green")
        wait_for("the mention among the desktop's notifications",
                 lambda: any("robert mentioned you" in t and "build is green" in t for t in dunst_history()))
    finally:
        xdo("windowfocus", "--sync", window[0])


def a_file_given_on_the_command_line_opens_in_the_editor(ctx):
    """`tandem-desktop A README.md` (a new session) opens A with README.md in the editor, and the
    peer reports it as this peer's open file."""
    s = ctx.open_app(ctx.workspace, "README.md")
    wait_for("README.md in the editor", lambda: "# End-to-end" in ctx.editor_text())
    s.wait_css("README.md's tab", ".tab", containing="README.md")
    wait_for("README.md as the open file in the status",
             lambda: json.loads(tandem(ctx.cli, "-C", ctx.workspace, "status", "--json")).get("file") == "README.md")


def a_bad_invite_code_shows_an_error(ctx):
    """In a new app session on the welcome screen, joining with a bad code shows why, in words."""
    s = ctx.open_app()
    folder = os.path.join(ctx.out, "joined-with-a-bad-code")
    s.type(s.wait_css("the join form", '[data-testid="join-code"]')[0], "not-a-real-invite-code")
    field = s.find_all('[data-testid="join-folder"]')[0]
    s.clear(field)
    s.type(field, folder)
    s.click(s.find_all('[data-testid="join-submit"]')[0])
    errors = wait_for(
        "the join error", lambda: [e for e in s.find_all('[data-testid="join-error"]') if s.text(e).strip()]
    )
    text = s.text(errors[0])
    assert "invite" in text.lower() or "code" in text.lower(), f"the error does not say what is wrong: {text!r}"
    assert not os.path.exists(folder) or not os.listdir(folder), "a failed join left files behind"


STEPS = [
    app_opens_the_workspace,
    headless_peer_joins_by_invite,
    typing_in_the_app_reaches_the_peers_disk,
    a_line_written_on_the_peers_disk_appears_in_the_editor,
    a_comment_from_the_peers_cli_shows_in_the_gutter_and_list,
    a_comment_made_in_the_app_reaches_the_peer,
    a_reply_and_resolve_in_the_popover_reach_the_peer,
    a_suggestion_from_the_peer_is_applied_from_the_app,
    the_peer_is_in_the_people_panel,
    the_peers_agent_shows_its_progress,
    the_peers_metrics_are_charted,
    a_name_and_colour_chosen_in_settings_reach_the_peer,
    a_teammates_new_name_shows_in_the_people_panel,
    alert_thresholds_saved_in_settings_apply_at_once,
    a_mention_raises_a_native_notification,
    a_file_given_on_the_command_line_opens_in_the_editor,
    a_bad_invite_code_shows_an_error,
]


def run(ctx):
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    for n, step in enumerate(STEPS, 1):
        name = step.__name__
        started = time.monotonic()
        try:
            if ctx.broken and step is not a_bad_invite_code_shows_an_error:
                raise AssertionError(f"not run: {ctx.broken}")
            step(ctx)
            verdict, why = "PASS", ""
            counts["passed"] += 1
        except Skip as e:
            verdict, why = "SKIP", f": {e}"
            counts["skipped"] += 1
        except (AssertionError, Timeout, WebDriverError, CliError, OSError, StopIteration) as e:
            verdict, why = "FAIL", f": {e or type(e).__name__}"
            counts["failed"] += 1
        except Exception:
            verdict, why = "FAIL", ": unexpected error\n" + traceback.format_exc()
            counts["failed"] += 1
        if verdict == "FAIL" and step is app_opens_the_workspace:
            ctx.broken = "the app did not open the workspace"
        if ctx.session:
            try:
                ctx.session.screenshot(os.path.join(ctx.out, f"{n:02d}-{name}.png"))
            except Exception as e:
                print(f"  (no screenshot: {e})")
        print(f"{verdict} {name} ({time.monotonic() - started:.1f} s){why}", flush=True)
    return counts


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--app", required=True, help="the tandem-desktop binary")
    p.add_argument("--cli", required=True, help="the tandem binary")
    p.add_argument("--workspace", required=True, help="a workspace (tandem init) holding src/main.rs")
    p.add_argument("--out", required=True, help="where logs, bob's folder and screenshots go")
    p.add_argument("--driver", default="http://127.0.0.1:4444", help="tauri-driver's URL")
    ctx = Context(p.parse_args())
    os.makedirs(ctx.out, exist_ok=True)
    shutil.rmtree(os.path.join(ctx.out, "bob"), ignore_errors=True)
    try:
        counts = run(ctx)
    finally:
        if ctx.session:
            ctx.session.close()
        if ctx.peer:
            ctx.peer.stop()
    print(f"e2e: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
    sys.exit(1 if counts["failed"] else 0)


if __name__ == "__main__":
    main()
