#!/usr/bin/env python3
"""Takes the README's screenshot of the real app: alice's window with bob's and carol's cursors.

Usage: screenshot.py --app APP --cli TANDEM --out DIR --png FILE [--driver URL]

Makes a small demo workspace in DIR/wordcount, opens it in the app (as alice), lets two headless
peers (bob, carol) join it by invite, places their carets with the control API's `presence`
op, gives bob an agent at work, a comment and a chat line, then saves the window as FILE.
Run through screenshot.sh, which starts the virtual display and tauri-driver.
"""

import argparse
import os
import shutil
import time

from headless import HeadlessPeer, tandem
from webdriver import Session, wait_for

MAIN = """use std::collections::HashMap;

/// Counts how often each word appears in a text, ignoring case.
pub fn word_counts(text: &str) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for word in text.split_whitespace() {
        let word = word.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase();
        if word.is_empty() {
            continue;
        }
        *counts.entry(word).or_insert(0) += 1;
    }
    counts
}

/// The `n` most frequent words, most frequent first; ties in alphabetical order.
pub fn top_words(counts: &HashMap<String, usize>, n: usize) -> Vec<(&str, usize)> {
    let mut words: Vec<_> = counts.iter().map(|(w, c)| (w.as_str(), *c)).collect();
    words.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    words.truncate(n);
    words
}

fn main() {
    let text = std::fs::read_to_string("README.md").unwrap_or_default();
    for (word, count) in top_words(&word_counts(&text), 10) {
        println!("{count:>5} {word}");
    }
}
"""

FILES = {
    "src/main.rs": MAIN,
    "Cargo.toml": '[package]\nname = "wordcount"\nversion = "0.1.0"\nedition = "2021"\n',
    "README.md": "# wordcount\n\nPrints the ten most frequent words of a text.\n",
    "tests/counts.rs": "use wordcount::word_counts;\n\n#[test]\nfn counts_ignore_case() {\n"
    '    assert_eq!(word_counts("A a b")["a"], 2);\n}\n',
}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--app", required=True)
    p.add_argument("--cli", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--png", required=True)
    p.add_argument("--driver", default=os.environ.get("TAURI_DRIVER_URL", "http://127.0.0.1:4444"))
    args = p.parse_args()
    out = os.path.abspath(args.out)
    demo = os.path.join(out, "wordcount")
    for d in ("wordcount", "bob", "carol"):
        shutil.rmtree(os.path.join(out, d), ignore_errors=True)
    for rel, text in FILES.items():
        os.makedirs(os.path.dirname(os.path.join(demo, rel)), exist_ok=True)
        with open(os.path.join(demo, rel), "w", encoding="utf-8") as f:
            f.write(text)
    tandem(args.cli, "init", demo)

    peers, session = [], None
    try:
        caps = {"tauri:options": {"application": os.path.abspath(args.app), "args": [demo]}}
        session = s = Session(args.driver, caps)
        tree = s.wait_css("main.rs in the tree", "button.file", containing="main.rs")
        s.click(tree[0])
        wait_for("the editor", lambda: "word_counts" in "".join(s.text(e) for e in s.find_all(".cm-content")))

        for name, line, col, colour in (("bob", 7, 23, "#f58231"), ("carol", 19, 22, "#42d4f4")):
            code = tandem(args.cli, "-C", demo, "invite", "--ttl", "10m").strip()
            peer = HeadlessPeer(args.cli, code, os.path.join(out, name), name, os.path.join(out, f"{name}.log"))
            peers.append(peer)
            wait_for(f"{name}'s copy", lambda: os.path.exists(peer.path("src/main.rs")), timeout=60)
            wait_for(f"{name}'s control socket", lambda: peer.control("status"))
            peer.control("profile", colour=colour)  # one colour each, whatever their ids hash to
            peer.control("presence", file="src/main.rs", line=line, col=col)
        bob, carol = peers
        bob.run("agent", "register", "tests", "--kind", "test-runner")
        bob.run("agent", "update", "tests", "--task", "cargo test", "--progress", "60",
                "--subtask", "unit=done", "--subtask", "integration=todo")
        carol.run("comment", "add", "src/main.rs:17", "Should ties really go alphabetically?", "--kind", "question")
        carol.run("chat", "send", "@alice top_words looks good, tests running on bob's machine")

        # Alice's own caret, by a click in the editor.
        lines = wait_for("the editor's lines", lambda: s.find_all(".cm-line"))
        s.click(lines[24])
        wait_for("bob's and carol's carets", lambda: len(s.find_all(".cm-ySelectionCaret")) >= 2)
        rows = lambda: [s.text(e) for e in s.find_all('[data-testid="person"]')]  # noqa: E731
        wait_for("bob and carol in src/main.rs in the People panel",
                 lambda: all(any(n in r and "src/main.rs" in r for r in rows()) for n in ("bob", "carol")))
        for button in s.find_all('.notices button[aria-label="Dismiss"]'):
            s.click(button)
        wait_for("the notices gone", lambda: not s.find_all(".notice"), timeout=10)
        # The names show while the pointer is on a caret: point at bob's.
        carets = s.find_all(".cm-ySelectionCaret")
        s.call("POST", "/actions", {"actions": [{"type": "pointer", "id": "mouse", "actions": [
            {"type": "pointerMove", "origin": carets[0], "x": 0, "y": 0, "duration": 0}]}]})
        time.sleep(0.5)  # the label fades in over 0.3 s: a picture, not a synchronisation
        s.screenshot(args.png)
        print(f"saved {args.png}")
    finally:
        if session:
            session.close()
        for peer in peers:
            peer.stop()


if __name__ == "__main__":
    main()
