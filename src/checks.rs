//! What the built-in review agent looks for in a file: merge-conflict markers, likely secrets,
//! trailing whitespace, TODO/FIXME and over-long lines.

use serde::Serialize;

/// Which check produced a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// `<<<<<<<` / `=======` / `>>>>>>>` left over from a merge.
    ConflictMarker,
    /// A PEM/OpenSSH/PGP private key block.
    PrivateKey,
    /// An AWS access key id.
    CloudKey,
    /// Spaces or tabs at the end of lines.
    TrailingWhitespace,
    /// A `TODO` or `FIXME` marker.
    Todo,
    /// A line over [`Limits::max_line_chars`].
    LongLine,
}

impl Rule {
    /// The rule's stable name, the same as its serialized form.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::ConflictMarker => "conflict_marker",
            Rule::PrivateKey => "private_key",
            Rule::CloudKey => "cloud_key",
            Rule::TrailingWhitespace => "trailing_whitespace",
            Rule::Todo => "todo",
            Rule::LongLine => "long_line",
        }
    }
}

/// One problem in a file, located by a 1-based inclusive line span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The check that fired.
    pub rule: Rule,
    /// First line of the span, 1-based.
    pub first_line: usize,
    /// Last line of the span, 1-based and inclusive.
    pub last_line: usize,
    /// What is wrong and what to do about it; never quotes a secret.
    pub message: String,
    /// Replacement for lines `first_line..=last_line`, without a final newline, when the fix is mechanical.
    pub suggestion: Option<String>,
    /// Post as an "issue" even if a suggestion exists (conflicts and secrets).
    pub is_issue: bool,
}

/// Thresholds for [`check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Lines with more chars than this are reported (default 120).
    pub max_line_chars: usize,
    /// At most this many findings per file (default 50).
    pub max_findings: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line_chars: 120,
            max_findings: 50,
        }
    }
}

/// A line without its ending; `ending` is kept so fixes can preserve CRLF vs LF.
struct Line<'a> {
    text: &'a str,
    ending: &'a str,
}

fn split_lines(text: &str) -> Vec<Line<'_>> {
    text.split_inclusive('\n')
        .map(|raw| {
            let body = raw.strip_suffix('\n').unwrap_or(raw);
            // `\r` belongs to the line ending, so it is never mistaken for trailing whitespace.
            let body = body.strip_suffix('\r').unwrap_or(body);
            Line {
                text: body,
                ending: raw.get(body.len()..).unwrap_or(""),
            }
        })
        .collect()
}

fn finding(rule: Rule, first_line: usize, last_line: usize, message: String) -> Finding {
    // Conflicts and secrets must block a merge; style findings are advice.
    let is_issue = matches!(rule, Rule::ConflictMarker | Rule::PrivateKey | Rule::CloudKey);
    Finding {
        rule,
        first_line,
        last_line,
        message,
        suggestion: None,
        is_issue,
    }
}

/// Checks one file's text; findings come most important first (conflicts and secrets), then
/// the rest in line order, at most `limits.max_findings` of them.
pub fn check(path: &str, text: &str, limits: &Limits) -> Vec<Finding> {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path).to_ascii_lowercase();
    // Generated files: nobody edits them by hand, so findings there are only noise.
    let generated = name.ends_with(".lock")
        || name == "package-lock.json"
        || name == "pnpm-lock.yaml"
        || name.ends_with(".min.js")
        || name.ends_with(".min.css");
    if generated || limits.max_findings == 0 {
        return Vec::new();
    }
    // In Markdown a trailing double space is a hard line break and prose lines wrap freely.
    let prose = name.ends_with(".md") || name.ends_with(".markdown");

    let lines = split_lines(text);
    let mut important = conflicts(&lines);
    // Lines inside a key are key material: reporting them again (or quoting them in a
    // suggestion) would only spread the secret further.
    let mut in_key = vec![false; lines.len()];
    for f in private_keys(&lines) {
        for flag in in_key.iter_mut().take(f.last_line).skip(f.first_line - 1) {
            *flag = true;
        }
        important.push(f);
    }

    let mut rest = Vec::new();
    let mut ws_run: Option<usize> = None;
    for (i, line) in lines.iter().enumerate() {
        let n = i + 1;
        let trailing = !prose && !in_key[i] && line.text.ends_with([' ', '\t']);
        match (trailing, ws_run) {
            (true, None) => ws_run = Some(i),
            (false, Some(start)) => {
                rest.push(trailing_fix(&lines[start..i], start + 1));
                ws_run = None;
            }
            _ => {}
        }
        if in_key[i] {
            continue;
        }
        if has_aws_key(line.text) {
            let msg = "an AWS access key id is in the file: remove it, deactivate the key and load \
                       credentials from the environment or a secret store instead";
            important.push(finding(Rule::CloudKey, n, n, msg.to_string()));
        }
        if let Some(word) = todo_word(line.text) {
            let msg = format!("`{word}` left in the code: finish it or track it in an issue");
            rest.push(finding(Rule::Todo, n, n, msg));
        }
        // Bytes bound chars from above, so most lines skip the char count.
        let max = limits.max_line_chars;
        let chars = if prose || line.text.len() <= max {
            0
        } else {
            line.text.chars().count()
        };
        if chars > max {
            let msg = format!("line is {chars} characters long (limit {max}): wrap or split it");
            rest.push(finding(Rule::LongLine, n, n, msg));
        }
    }
    if let Some(start) = ws_run {
        rest.push(trailing_fix(&lines[start..], start + 1));
    }

    // Stable sorts keep same-line findings in a fixed rule order.
    important.sort_by_key(|f| f.first_line);
    rest.sort_by_key(|f| f.first_line);
    important.extend(rest);
    important.truncate(limits.max_findings);
    important
}

fn trailing_fix(run: &[Line], first_line: usize) -> Finding {
    let mut fixed = String::new();
    for (j, line) in run.iter().enumerate() {
        fixed.push_str(line.text.trim_end_matches([' ', '\t']));
        // The replacement covers whole lines, so only the inner endings belong to it.
        if j + 1 < run.len() {
            fixed.push_str(line.ending);
        }
    }
    let last = first_line + run.len().saturating_sub(1);
    let msg = "trailing whitespace: remove it".to_string();
    Finding {
        suggestion: Some(fixed),
        ..finding(Rule::TrailingWhitespace, first_line, last, msg)
    }
}

fn is_marker(line: &str, marker: &str) -> bool {
    line.strip_prefix(marker)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
}

/// One finding per `<<<<<<<`..`>>>>>>>` block; `=======` needs no tracking since a block covers it
/// and outside a block it is just a heading underline or a separator comment.
fn conflicts(lines: &[Line]) -> Vec<Finding> {
    let block = |first, last| {
        let msg = "merge-conflict marker left in the file: resolve the conflict and remove the markers";
        finding(Rule::ConflictMarker, first, last, msg.to_string())
    };
    let stray = |n| {
        let msg = "stray merge-conflict marker: resolve the conflict or remove the marker";
        finding(Rule::ConflictMarker, n, n, msg.to_string())
    };
    let mut out = Vec::new();
    let mut open: Option<usize> = None;
    for (i, line) in lines.iter().enumerate() {
        if is_marker(line.text, "<<<<<<<") {
            if let Some(start) = open.replace(i + 1) {
                out.push(stray(start));
            }
        } else if is_marker(line.text, ">>>>>>>") {
            out.push(match open.take() {
                Some(start) => block(start, i + 1),
                None => stray(i + 1),
            });
        }
    }
    out.extend(open.map(stray));
    out
}

/// The label of a private-key armor header on this line (e.g. "RSA PRIVATE KEY") and the text
/// after the header.
fn key_begin(line: &str) -> Option<(&str, &str)> {
    line.match_indices("-----BEGIN ").find_map(|(i, begin)| {
        let rest = line.get(i + begin.len()..)?;
        let end = rest.find("-----")?;
        let label = rest.get(..end)?;
        let is_key = (label.ends_with("PRIVATE KEY") || label.ends_with("PRIVATE KEY BLOCK"))
            && label
                .bytes()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b' ');
        is_key.then(|| (label, rest.get(end..).unwrap_or("")))
    })
}

/// One finding per key, spanning BEGIN..=END; a key without an END is just its BEGIN line.
fn private_keys(lines: &[Line]) -> Vec<Finding> {
    let key = |first, last, label: &str| {
        // Only the armor label is quoted, never anything from the key body.
        let msg = format!(
            "{} committed to the file: remove it and rotate the key, since anyone with this file has it",
            label.to_ascii_lowercase()
        );
        finding(Rule::PrivateKey, first, last, msg)
    };
    let mut out = Vec::new();
    let mut open: Option<(usize, &str, String)> = None;
    for (i, line) in lines.iter().enumerate() {
        let n = i + 1;
        if let Some((start, label, end)) = &open {
            if line.text.contains(end.as_str()) {
                out.push(key(*start, n, label));
                open = None;
                continue;
            }
        }
        if let Some((label, after)) = key_begin(line.text) {
            if let Some((start, label, _)) = open.take() {
                out.push(key(start, start, label));
            }
            let end = format!("-----END {label}-----");
            if after.contains(&end) {
                out.push(key(n, n, label));
            } else {
                open = Some((n, label, end));
            }
        }
    }
    if let Some((start, label, _)) = open {
        out.push(key(start, start, label));
    }
    out
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Whether `b[at..at + len]` has no word character on either side.
fn bounded(b: &[u8], at: usize, len: usize) -> bool {
    let before = at.checked_sub(1).and_then(|j| b.get(j));
    before.is_none_or(|&c| !is_word(c)) && b.get(at + len).is_none_or(|&c| !is_word(c))
}

fn has_aws_key(line: &str) -> bool {
    // Byte scanning is safe on UTF-8: ASCII bytes never occur inside multi-byte chars.
    let b = line.as_bytes();
    (0..b.len()).any(|i| {
        let Some(id) = b.get(i..i + 20) else { return false };
        (id.starts_with(b"AKIA") || id.starts_with(b"ASIA"))
            && id.iter().skip(4).all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            && bounded(b, i, 20)
    })
}

fn todo_word(line: &str) -> Option<&'static str> {
    ["TODO", "FIXME"]
        .into_iter()
        .find(|w| line.match_indices(w).any(|(i, _)| bounded(line.as_bytes(), i, w.len())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const KEY: &str = concat!(
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAs3cr3tK3yMaTeRiAl\n",
        "Zm9vYmFyYmF6\n-----END RSA PRIVATE KEY-----\n"
    );
    const AWS: &str = "AKIAIOSFODNN7EXAMPLE";

    fn run(path: &str, text: &str) -> Vec<Finding> {
        check(path, text, &Limits::default())
    }

    fn spans(fs: &[Finding]) -> Vec<(Rule, usize, usize)> {
        fs.iter().map(|f| (f.rule, f.first_line, f.last_line)).collect()
    }

    #[test]
    fn conflict_block_and_key_are_exactly_two_findings() {
        let text = format!("fn a() {{}}\n<<<<<<< HEAD\nlet x = 1;\n=======\nlet x = 2;\n>>>>>>> feature\n{KEY}done\n");
        let fs = run("src/a.rs", &text);
        assert_eq!(
            spans(&fs),
            vec![(Rule::ConflictMarker, 2, 6), (Rule::PrivateKey, 7, 10)]
        );
        assert!(fs.iter().all(|f| f.is_issue && f.suggestion.is_none()));
        assert!(fs[1].message.contains("remove it and rotate"));
        assert!(!fs[1].message.contains("MIIE") && !fs[1].message.contains("Zm9v"));
    }

    #[test]
    fn conflict_markers() {
        assert_eq!(
            spans(&run("a.rs", "<<<<<<< HEAD\nx\n")),
            vec![(Rule::ConflictMarker, 1, 1)]
        );
        assert_eq!(
            spans(&run("a.rs", "x\n>>>>>>> b\n")),
            vec![(Rule::ConflictMarker, 2, 2)]
        );
        // A second opener means the first one was never closed.
        let fs = run("a.rs", "<<<<<<< a\n<<<<<<< b\n=======\n>>>>>>> c\n");
        assert_eq!(
            spans(&fs),
            vec![(Rule::ConflictMarker, 1, 1), (Rule::ConflictMarker, 2, 4)]
        );
        // Separators outside a block, longer runs and markers mid-line are not conflicts.
        assert!(run("a.md", "Title\n=======\n").is_empty());
        assert!(run("a.rs", "<<<<<<<< x\n  <<<<<<< y\n// >>>>>>> z\n<<<<<<<x\n").is_empty());
    }

    #[test]
    fn private_keys() {
        for label in [
            "RSA PRIVATE KEY",
            "EC PRIVATE KEY",
            "OPENSSH PRIVATE KEY",
            "DSA PRIVATE KEY",
            "PRIVATE KEY",
            "PGP PRIVATE KEY BLOCK",
        ] {
            let text = format!("a\n-----BEGIN {label}-----\nc2VjcmV0\n-----END {label}-----\n");
            assert_eq!(spans(&run("k.pem", &text)), vec![(Rule::PrivateKey, 2, 4)], "{label}");
        }
        // No END: only the BEGIN line; both on one line (e.g. an escaped JSON string): that line.
        assert_eq!(
            spans(&run("k", "-----BEGIN EC PRIVATE KEY-----\nc2VjcmV0\n")),
            vec![(Rule::PrivateKey, 1, 1)]
        );
        let json = r#"{"k": "-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----"}"#;
        assert_eq!(spans(&run("k.json", json)), vec![(Rule::PrivateKey, 1, 1)]);
        assert!(run("k.pem", "-----BEGIN PUBLIC KEY-----\nabc\n-----END PUBLIC KEY-----\n").is_empty());
        assert!(run("k.pem", "-----BEGIN CERTIFICATE-----\n").is_empty());
        // Key material is neither re-reported nor quoted by other rules.
        let messy = "-----BEGIN PRIVATE KEY-----\nAKIAIOSFODNN7EXAMPLE TODO  \n-----END PRIVATE KEY-----\n";
        assert_eq!(spans(&run("k", messy)), vec![(Rule::PrivateKey, 1, 3)]);
    }

    #[test]
    fn cloud_keys() {
        let fs = run("cfg.py", &format!("id = \"{AWS}\"\nother = 'ASIAABCDEFGHIJKLMNOP'\n"));
        assert_eq!(spans(&fs), vec![(Rule::CloudKey, 1, 1), (Rule::CloudKey, 2, 2)]);
        assert!(fs
            .iter()
            .all(|f| f.is_issue && !f.message.contains(AWS) && f.message.contains("an AWS access key id")));
        // Too short, lowercase, or glued to other word characters.
        for text in [
            "AKIAIOSFODNN7EXAMPL",
            "AKIAiosfodnn7example",
            "XAKIAIOSFODNN7EXAMPLE",
            "AKIAIOSFODNN7EXAMPLE1",
            "AKIAIOSFODNN7EXAMPLE_",
        ] {
            assert!(run("a.rs", text).is_empty(), "{text}");
        }
    }

    #[test]
    fn trailing_whitespace_groups_runs_and_keeps_crlf() {
        let fs = run("a.rs", "a \r\nb\t\r\nc\r\nd  \n");
        assert_eq!(
            spans(&fs),
            vec![(Rule::TrailingWhitespace, 1, 2), (Rule::TrailingWhitespace, 4, 4)]
        );
        assert_eq!(fs[0].suggestion.as_deref(), Some("a\r\nb"));
        assert_eq!(fs[1].suggestion.as_deref(), Some("d"));
        assert!(!fs[0].is_issue);
        // A CRLF ending alone is not trailing whitespace, nor is inner whitespace.
        assert!(run("a.rs", "a\r\nb c\r\n\r\n").is_empty());
        assert_eq!(run("a.rs", "x\n   ")[0].suggestion.as_deref(), Some(""));
    }

    #[test]
    fn todo_and_long_lines() {
        let fs = run("a.rs", "// TODO: x\n// FIXME\n// todo TODOS XTODO FIXME_1\n");
        assert_eq!(spans(&fs), vec![(Rule::Todo, 1, 1), (Rule::Todo, 2, 2)]);
        assert!(fs.iter().all(|f| !f.is_issue && f.suggestion.is_none()));
        assert!(fs[1].message.contains("FIXME"));
        // Chars, not bytes: 120 multi-byte chars fit the limit, 121 do not.
        let fits = "é".repeat(120);
        assert!(run("a.rs", &fits).is_empty());
        let fs = run("a.rs", &format!("ok\n{fits}é\r\n"));
        assert_eq!(spans(&fs), vec![(Rule::LongLine, 2, 2)]);
        assert!(!fs[0].is_issue && fs[0].message.contains("121"));
    }

    #[test]
    fn exemptions() {
        let text = format!("{}  \n{AWS}\n", "x".repeat(200));
        assert_eq!(spans(&run("docs/README.md", &text)), vec![(Rule::CloudKey, 2, 2)]);
        for path in ["Cargo.lock", "web/package-lock.json", "dist/app.min.js", "YARN.LOCK"] {
            assert!(run(path, &text).is_empty(), "{path}");
        }
        assert_eq!(run("src/main.rs", &text).len(), 3);
    }

    #[test]
    fn cap_keeps_important_findings_first() {
        let mut text = "// TODO\n".repeat(60);
        text.push_str(&format!("<<<<<<< a\n{AWS}\n"));
        let fs = run("a.rs", &text);
        assert_eq!(fs.len(), 50);
        assert_eq!(
            spans(&fs[..2]),
            vec![(Rule::ConflictMarker, 61, 61), (Rule::CloudKey, 62, 62)]
        );
        assert!(fs[2..]
            .iter()
            .enumerate()
            .all(|(i, f)| f.rule == Rule::Todo && f.first_line == i + 1));
        let none = Limits {
            max_findings: 0,
            ..Limits::default()
        };
        assert!(check("a.rs", &text, &none).is_empty());
    }

    #[test]
    fn rule_names_match_serde() {
        assert_eq!(Rule::TrailingWhitespace.as_str(), "trailing_whitespace");
        assert_eq!(Rule::CloudKey.as_str(), "cloud_key");
    }

    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("<<<<<<< a".to_string()),
            Just("=======".to_string()),
            Just(">>>>>>> b".to_string()),
            Just("-----BEGIN RSA PRIVATE KEY-----".to_string()),
            Just("-----END RSA PRIVATE KEY-----".to_string()),
            Just(AWS.to_string()),
            Just("TODO".to_string()),
            "[ \t\r\nAé🦀-]{0,8}",
            any::<String>(),
        ]
    }

    proptest! {
        #[test]
        fn never_panics_and_stays_in_bounds(
            parts in prop::collection::vec(piece(), 0..40),
            max_line_chars in 0usize..20,
            max_findings in 0usize..20,
            path in prop_oneof![Just("a.rs"), Just("a.md"), Just("")],
        ) {
            let text = parts.concat();
            let line_count = text.split_inclusive('\n').count();
            let fs = check(path, &text, &Limits { max_line_chars, max_findings });
            prop_assert!(fs.len() <= max_findings);
            for f in &fs {
                prop_assert!(1 <= f.first_line && f.first_line <= f.last_line && f.last_line <= line_count);
                if let Some(s) = &f.suggestion {
                    prop_assert_eq!(s.matches('\n').count(), f.last_line - f.first_line);
                }
            }
        }
    }
}
