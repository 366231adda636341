#!/usr/bin/env python3
"""Measures the desktop app and prints figures (no pass/fail: the targets are printed beside them).

Usage: measure.py --app APP --cli TANDEM --out DIR [--keys N] [--idle SECONDS] [--files N]
Run through measure.sh, which starts the virtual display and tauri-driver.

1. Keystroke to local paint: a script in the page takes each keydown's timestamp and, once
   CodeMirror has changed the editor's DOM for it, the time of the next animation frame (the
   frame that paints it). One key per WebDriver command, each after the previous one is done.
2. Keystroke in the app to the remote peer's document: a headless `tandem` peer joined to the
   app's workspace streams its events (control API `events`); the figure is from the keydown's
   wall-clock time in the page to the peer's `file_changed` (origin `remote`) for that file.
3. The app's idle CPU and memory with a workspace of N files open (one file in the editor),
   started as a user starts it (`tandem-desktop DIR FILE`, not through WebDriver), from /proc over
   the given time: the app's process and its WebKit processes (every descendant), CPU as a share
   of one core, memory as resident (RSS) and proportional (PSS) sets.
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import threading
import time

from headless import HeadlessPeer, tandem
from webdriver import Session, wait_for

HARNESS = """
window.__keys = [];
window.__paint = [];
window.__dom = [];
const content = document.querySelector('.cm-content');
let pending = null;
document.addEventListener('keydown', (e) => {
  pending = e.timeStamp;
  window.__keys.push(performance.timeOrigin + e.timeStamp);
}, true);
new MutationObserver(() => {
  if (pending === null) return;
  const t0 = pending;
  pending = null;
  window.__dom.push(performance.now() - t0);
  requestAnimationFrame(() => window.__paint.push(performance.now() - t0));
}).observe(content, { childList: true, subtree: true, characterData: true });
"""


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s)) - 1))]


def summary(values):
    p = {q: percentile(values, q) for q in (50, 90, 99)}
    return f"p50 {p[50]:.1f} ms, p99 {p[99]:.1f} ms (p90 {p[90]:.1f}, max {max(values):.1f}, n={len(values)})"


class Events(threading.Thread):
    """A peer's event stream: the wall-clock time of each `file_changed` from a remote for `path`."""

    def __init__(self, root, path):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(os.path.join(root, ".tandem/control.sock"))
        self.sock.sendall(b'{"op":"events"}\n')
        self.path, self.times, self.cond = path, [], threading.Condition()

    def run(self):
        for line in self.sock.makefile():
            now = time.time() * 1000
            ev = json.loads(line)
            if ev.get("event") == "file_changed" and ev.get("path") == self.path and ev.get("origin") == "remote":
                with self.cond:
                    self.times.append(now)
                    self.cond.notify_all()

    def wait_count(self, n, timeout=10):
        with self.cond:
            return self.cond.wait_for(lambda: len(self.times) >= n, timeout)


def typing(s, peer, keys):
    """Types `keys` characters one by one; returns (local paint ms, remote ms) lists."""
    content = s.wait_css("the editor", ".cm-content")[0]
    s.click(content)
    s.type(content, "// warm-up " * 3)  # the first keys load code paths: not what a typist sees
    s.script(HARNESS)
    events = Events(peer.root, "src/main.rs")
    events.start()
    remote = []
    for i in range(keys):
        before = len(events.times)
        s.type(content, "abcdefghij"[i % 10] if i % 40 else "\ue007")  # a new line now and then
        if events.wait_count(before + 1):
            sent = s.script("return window.__keys[window.__keys.length - 1]")
            remote.append(events.times[before] - sent)
        time.sleep(0.03)  # a quick typist's pace, so each key is measured alone
    paint = wait_for("the paint times", lambda: s.script("return window.__paint"))
    dom = s.script("return window.__dom")
    return paint, dom, remote


def tree_of(pid):
    """pid and all its descendants."""
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(d))
            except OSError:
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cpu_ticks(pids):
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime
        except OSError:
            pass
    return total


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return str(pid)


def memory_kib(pids):
    rss = pss = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
        except OSError:
            pass
    return rss, pss


def idle(args, out):
    """Opens a workspace of args.files files with one of them in the editor, the way a user starts
    the app (`tandem-desktop DIR FILE`, no WebDriver: automation keeps an inspector session in
    both processes), then samples the app over args.idle seconds."""
    ws = os.path.join(out, "thousand")
    shutil.rmtree(ws, ignore_errors=True)
    line = "    let value = compute(input, 42); // a line of ordinary source text, about 70 bytes\n"
    for i in range(args.files):
        path = os.path.join(ws, f"pkg{i // 50:02d}", f"mod{i % 50:02d}.rs")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(f"// file {i}\nfn f{i}() {{\n" + line * 28 + "}\n")
    tandem(args.cli, "init", ws)
    shown = "pkg00/mod00.rs"
    log = open(os.path.join(out, "idle-app.log"), "w")
    app = subprocess.Popen([os.path.abspath(args.app), ws, shown], stdout=log, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL)
    try:
        def status():
            try:
                return json.loads(tandem(args.cli, "-C", ws, "status", "--json"))
            except Exception:
                return None

        st = wait_for(f"{args.files} files served with {shown} in the editor",
                      lambda: (s := status()) and len(s["files"]) >= args.files and s.get("file") == shown and s, 90)
        if shutil.which("import"):
            subprocess.run(["import", "-window", "root", os.path.join(out, "thousand.png")], timeout=30)
        time.sleep(5)  # let the start settle: the figure is of an idle app
        pid = app.pid
        pids = tree_of(pid)
        t0, c0 = time.monotonic(), {p: cpu_ticks([p]) for p in pids}
        samples = []
        while time.monotonic() - t0 < args.idle:
            time.sleep(1)
            samples.append(memory_kib(tree_of(pid)))
        wall = time.monotonic() - t0
        per = {p: (cpu_ticks([p]) - c0[p]) / os.sysconf("SC_CLK_TCK") / wall * 100 for p in pids}
        cpu = sum(per.values())
        parts = ", ".join(f"{comm(p)} {c:.1f} %" for p, c in sorted(per.items(), key=lambda x: -x[1]))
        print(f"  CPU by process: {parts}")
        rss = max(r for r, _ in samples) / 1024
        pss = max(p for _, p in samples) / 1024
        main_rss = memory_kib([pid])[0] / 1024
        by = ", ".join(f"{comm(p)} {memory_kib([p])[1] / 1024:.0f} MB" for p in tree_of(pid))
        print(f"  PSS by process at the end: {by}")
        return cpu, rss, pss, main_rss, len(pids), len(st["files"]), wall
    finally:
        app.terminate()
        try:
            app.wait(timeout=15)
        except subprocess.TimeoutExpired:
            app.kill()
        log.close()


def latency(args, out):
    """The app on a small workspace joined by a headless peer; types args.keys keys."""
    ws = os.path.join(out, "alice")
    for d in ("alice", "bob"):
        shutil.rmtree(os.path.join(out, d), ignore_errors=True)
    os.makedirs(os.path.join(ws, "src"))
    with open(os.path.join(ws, "src/main.rs"), "w") as f:
        f.write("fn main() {\n    println!(\"hello\");\n}\n")
    tandem(args.cli, "init", ws)
    s = Session(args.driver, {"tauri:options": {"application": os.path.abspath(args.app), "args": [ws]}})
    peer = None
    try:
        s.click(s.wait_css("main.rs in the tree", "button.file", containing="main.rs")[0])
        s.wait_css("the editor", ".cm-content", containing="fn main")
        code = tandem(args.cli, "-C", ws, "invite").strip()
        peer = HeadlessPeer(args.cli, code, os.path.join(out, "bob"), "bob", os.path.join(out, "bob.log"))
        wait_for("bob's copy", lambda: "fn main" in peer.read("src/main.rs"), 60)
        wait_for("bob's control socket", lambda: peer.control("status"))
        return typing(s, peer, args.keys)
    finally:
        s.close()
        if peer:
            peer.stop()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--app", required=True)
    p.add_argument("--cli", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--keys", type=int, default=300, help="keystrokes typed (0: no latency figures)")
    p.add_argument("--idle", type=float, default=30, help="seconds of idle sampling (0: no idle figures)")
    p.add_argument("--files", type=int, default=1000)
    p.add_argument("--driver", default=os.environ.get("TAURI_DRIVER_URL", "http://127.0.0.1:4444"))
    args = p.parse_args()
    out = os.path.abspath(args.out)
    if args.keys > 0:
        paint, dom, remote = latency(args, out)
        print(f"keystroke to local paint:          {summary(paint)}   (target p99 <= 16 ms)", flush=True)
        print(f"  of which keystroke to the DOM:   {summary(dom)}", flush=True)
        print(f"keystroke to the remote document:  {summary(remote)}   (target p99 <= 50 ms)"
              + (f"; {args.keys - len(remote)} keys without a remote change" if len(remote) < args.keys else ""),
              flush=True)
    if args.idle > 0:
        cpu, rss, pss, main_rss, nproc, files, wall = idle(args, out)
        print(f"idle with {files} files open, over {wall:.0f} s: CPU {cpu:.2f} % of one core (target <= 2 %)")
        print(f"memory: {pss:.0f} MB PSS, {rss:.0f} MB RSS summed over {nproc} processes "
              f"(the app's own process {main_rss:.0f} MB RSS) (target <= 300 MB)")


if __name__ == "__main__":
    main()
