//! Three-way text merge: a save on disk rebased onto the live document's text.

use dissimilar::Chunk;

/// One splice on a text: delete `delete` chars at `at`, then insert `insert` there. Offsets count Unicode scalar values (chars), not bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Splice {
    /// Char offset where the splice starts.
    pub at: usize,
    /// Number of chars removed at `at`.
    pub delete: usize,
    /// Text inserted at `at` after the removal.
    pub insert: String,
}

/// An empty splice at `at`, to be grown.
fn empty(at: usize) -> Splice {
    let insert = String::new();
    Splice { at, delete: 0, insert }
}

/// Where a splice's deleted range ends, in the old text.
fn end(s: &Splice) -> usize {
    s.at + s.delete
}

/// Splices turning `from` into `to`, ascending and separated by at least one unchanged char.
fn hunks(from: &str, to: &str) -> Vec<Splice> {
    let mut out = Vec::new();
    let mut open: Option<Splice> = None;
    let mut pos = 0;
    for chunk in dissimilar::diff(from, to) {
        let (Chunk::Equal(s) | Chunk::Delete(s) | Chunk::Insert(s)) = chunk;
        // An empty chunk separates nothing; skipping it keeps hunks strictly apart.
        if s.is_empty() {
            continue;
        }
        match chunk {
            Chunk::Equal(_) => {
                out.extend(open.take());
                pos += s.chars().count();
            }
            Chunk::Delete(_) => {
                let len = s.chars().count();
                open.get_or_insert_with(|| empty(pos)).delete += len;
                pos += len;
            }
            Chunk::Insert(_) => {
                open.get_or_insert_with(|| empty(pos)).insert.push_str(s);
            }
        }
    }
    out.extend(open);
    out
}

/// Splices turning `from` into `to`, in DESCENDING order of `at` so that applying them one after another in the returned order is correct.
pub fn diff(from: &str, to: &str) -> Vec<Splice> {
    let mut splices = hunks(from, to);
    splices.reverse();
    splices
}

/// Splices on `theirs` that add the changes base→ours; descending `at`, non-overlapping.
///
/// Both sides are diffed against `base` and the two hunk lists are walked together in
/// base order. The overlap rule:
/// - a base char survives only if neither side deleted it, so the user's deletion removes
///   only what still exists in `theirs`, and deleting what the remote already deleted is a no-op;
/// - every inserted run of either side is kept, placed at the base gap where its hunk starts
///   (a replacement's text goes where its deleted text began);
/// - at the same gap the remote (`theirs`) text comes first, then the user's.
///
/// So a user insertion anywhere inside a region the remote replaced lands after the remote text.
pub fn rebase(base: &str, ours: &str, theirs: &str) -> Vec<Splice> {
    if ours == base {
        return Vec::new();
    }
    if theirs == base {
        return diff(theirs, ours);
    }
    rebase_general(base, ours, theirs)
}

/// The general case of [`rebase`], kept separate so tests can run it without the fast paths.
fn rebase_general(base: &str, ours: &str, theirs: &str) -> Vec<Splice> {
    let mine = hunks(base, ours);
    let remote = hunks(base, theirs);
    let n = base.chars().count();
    let mut out = Builder::default();
    let (mut iu, mut ir) = (0, 0);
    let mut gap = 0;
    loop {
        // Drop hunks that ended before this gap; pure inserts at this gap stay for now.
        let ended = |h: &Splice| h.at < gap && end(h) <= gap;
        skip(&mine, &mut iu, ended);
        skip(&remote, &mut ir, ended);
        if let Some(h) = remote.get(ir).filter(|h| h.at == gap) {
            out.keep(h.insert.chars().count());
        }
        if let Some(h) = mine.get(iu).filter(|h| h.at == gap) {
            out.insert(&h.insert);
        }
        if gap >= n {
            break;
        }
        let pure_insert = |h: &Splice| h.at == gap && h.delete == 0;
        skip(&mine, &mut iu, pure_insert);
        skip(&remote, &mut ir, pure_insert);
        // Up to the next hunk edge every base char has the same fate on both sides.
        let (u, r) = (mine.get(iu), remote.get(ir));
        let edge = |h: Option<&Splice>| h.map_or(n, |h| if h.at > gap { h.at } else { end(h) });
        // Hunks are strictly apart, so `next > gap`; the `max` only rules out a hang if that ever broke.
        let next = edge(u).min(edge(r)).min(n).max(gap + 1);
        let covers = |h: Option<&Splice>| h.is_some_and(|h| h.at <= gap);
        if covers(r) {
            // Already gone from theirs: nothing to keep or delete.
        } else if covers(u) {
            out.delete(next - gap);
        } else {
            out.keep(next - gap);
        }
        gap = next;
    }
    out.finish()
}

/// Moves `i` past the hunks that `done` says are finished.
fn skip(hunks: &[Splice], i: &mut usize, done: impl Fn(&Splice) -> bool) {
    while hunks.get(*i).is_some_and(&done) {
        *i += 1;
    }
}

/// Accumulates splices on `theirs` in ascending order, fusing touching edits into one.
#[derive(Default)]
struct Builder {
    pos: usize,
    pending: Option<Splice>,
    done: Vec<Splice>,
}

impl Builder {
    fn keep(&mut self, len: usize) {
        if len > 0 {
            self.done.extend(self.pending.take());
            self.pos += len;
        }
    }

    fn open(&mut self) -> &mut Splice {
        let at = self.pos;
        self.pending.get_or_insert_with(|| empty(at))
    }

    fn delete(&mut self, len: usize) {
        self.open().delete += len;
        self.pos += len;
    }

    fn insert(&mut self, text: &str) {
        if !text.is_empty() {
            self.open().insert.push_str(text);
        }
    }

    fn finish(mut self) -> Vec<Splice> {
        self.done.extend(self.pending.take());
        self.done.reverse();
        self.done
    }
}

/// Applies splices (in the given order) to a String — used by tests and by the engine to predict the result.
pub fn apply(text: &str, splices: &[Splice]) -> String {
    let descending = splices
        .windows(2)
        .all(|w| w[1].at.saturating_add(w[1].delete) <= w[0].at);
    if descending {
        // Disjoint and descending means one left-to-right pass gives the same result in linear time.
        apply_ascending(text, splices.iter().rev())
    } else {
        let apply_one = |acc: String, s: &Splice| apply_ascending(&acc, std::iter::once(s));
        splices.iter().fold(text.to_owned(), apply_one)
    }
}

/// Applies disjoint splices given in ascending order; out-of-range offsets are clamped.
fn apply_ascending<'a>(text: &str, splices: impl Iterator<Item = &'a Splice>) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut rest, mut cur) = (text, 0);
    for s in splices {
        let (kept, tail) = split_chars(rest, s.at.saturating_sub(cur));
        out.push_str(kept);
        out.push_str(&s.insert);
        rest = split_chars(tail, s.delete).1;
        cur = s.at.max(cur).saturating_add(s.delete);
    }
    out.push_str(rest);
    out
}

/// Splits after `n` chars, or at the end if `text` is shorter.
fn split_chars(text: &str, n: usize) -> (&str, &str) {
    text.split_at(text.char_indices().nth(n).map_or(text.len(), |(i, _)| i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ALPHA: &[char] = &['a', 'b', 'é', '€', '😀', '\n'];
    const OURS_MARKED: &[char] = &['a', 'é', '😀', '\n', 'X', 'Y'];
    const THEIRS_MARKED: &[char] = &['b', '€', '😀', '\n', 'P', 'Q'];

    fn text(alpha: &'static [char], max: usize) -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(alpha), 0..max).prop_map(String::from_iter)
    }

    /// `base` after a few random splices whose inserted text is drawn from `alpha`.
    fn edited(base: String, alpha: &'static [char]) -> impl Strategy<Value = String> {
        let n = base.chars().count();
        let edits = prop::collection::vec((0..=n, 0..3usize, text(alpha, 4)), 0..4);
        edits.prop_map(move |edits| {
            let mut chars: Vec<char> = base.chars().collect();
            for (at, del, ins) in edits {
                let at = at.min(chars.len());
                let end = (at + del).min(chars.len());
                chars.splice(at..end, ins.chars());
            }
            chars.into_iter().collect()
        })
    }

    /// A base and two edits of it: either small splices or unrelated rewrites.
    fn triple(ours: &'static [char], theirs: &'static [char]) -> impl Strategy<Value = (String, String, String)> {
        text(ALPHA, 12).prop_flat_map(move |b| {
            let o = prop_oneof![3 => edited(b.clone(), ours), 1 => text(ours, 12)];
            let t = prop_oneof![3 => edited(b.clone(), theirs), 1 => text(theirs, 12)];
            (Just(b), o, t)
        })
    }

    /// Checks the splice contract on `theirs`, then applies it.
    fn checked(theirs: &str, splices: &[Splice]) -> String {
        let len = theirs.chars().count();
        for s in splices {
            assert!(s.at + s.delete <= len, "{s:?} out of bounds of {len} chars");
            assert!(s.delete > 0 || !s.insert.is_empty(), "empty splice {s:?}");
        }
        for w in splices.windows(2) {
            // A kept char always separates two splices.
            assert!(w[1].at + w[1].delete < w[0].at, "overlap or wrong order: {w:?}");
        }
        apply(theirs, splices)
    }

    fn merged(base: &str, ours: &str, theirs: &str) -> String {
        let fast = checked(theirs, &rebase(base, ours, theirs));
        let general = checked(theirs, &rebase_general(base, ours, theirs));
        assert_eq!(fast, general, "fast path and general case disagree");
        fast
    }

    fn only(s: &str, set: &[char]) -> String {
        s.chars().filter(|c| set.contains(c)).collect()
    }

    proptest! {
        #[test]
        fn theirs_unchanged_gives_ours((b, o, _) in triple(ALPHA, ALPHA)) {
            prop_assert_eq!(merged(&b, &o, &b), o);
        }

        #[test]
        fn ours_unchanged_gives_theirs((b, _, t) in triple(ALPHA, ALPHA)) {
            prop_assert_eq!(merged(&b, &b, &t), t);
        }

        #[test]
        fn disjoint_edits_merge_classically(
            a in text(ALPHA, 6), a2 in text(ALPHA, 6), mid in text(ALPHA, 4),
            c in text(ALPHA, 6), c2 in text(ALPHA, 6),
        ) {
            // '|' never occurs in the edits, so no diff can slide a hunk across the middle.
            let base = format!("{a}|{mid}|{c}");
            let got = merged(&base, &format!("{a2}|{mid}|{c}"), &format!("{a}|{mid}|{c2}"));
            prop_assert_eq!(got, format!("{a2}|{mid}|{c2}"));
        }

        #[test]
        fn inserted_text_of_both_sides_survives_in_order((b, o, t) in triple(OURS_MARKED, THEIRS_MARKED)) {
            let got = merged(&b, &o, &t);
            prop_assert_eq!(only(&got, &['X', 'Y']), only(&o, &['X', 'Y']));
            prop_assert_eq!(only(&got, &['P', 'Q']), only(&t, &['P', 'Q']));
        }

        #[test]
        fn arbitrary_triples_give_valid_splices(b in text(ALPHA, 10), o in text(ALPHA, 10), t in text(ALPHA, 10)) {
            merged(&b, &o, &t);
        }

        #[test]
        fn diff_round_trips(from in text(ALPHA, 16), to in text(ALPHA, 16)) {
            prop_assert_eq!(checked(&from, &diff(&from, &to)), to);
        }
    }

    #[test]
    fn inserts_at_start_and_end() {
        assert_eq!(merged("abc", "Xabc", "abcY"), "XabcY");
        assert_eq!(merged("abc", "abcX", "Yabc"), "YabcX");
    }

    #[test]
    fn same_position_inserts_keep_both_theirs_first() {
        assert_eq!(merged("a😀b", "a😀Xb", "a😀Yb"), "a😀YXb");
        let once = rebase("a😀b", "a😀Xb", "a😀Yb");
        assert_eq!(once, rebase("a😀b", "a😀Xb", "a😀Yb"));
    }

    #[test]
    fn deleting_a_line_the_remote_edited_keeps_the_remote_insert() {
        let (base, theirs) = ("one\ntwo\nthree\n", "one\ntwo and more\nthree\n");
        let got = merged(base, "one\nthree\n", theirs);
        assert_eq!(got, "one\n and morethree\n");
    }

    #[test]
    fn crlf_line_endings_survive() {
        let got = merged("a\r\nb\r\nc\r\n", "a\r\nB\r\nc\r\n", "a\r\nb\r\nc\r\nd\r\n");
        assert_eq!(got, "a\r\nB\r\nc\r\nd\r\n");
    }

    #[test]
    fn empty_files() {
        assert!(diff("", "").is_empty());
        assert!(rebase("", "", "").is_empty());
        assert_eq!(merged("", "x", ""), "x");
        assert_eq!(merged("", "x", "y"), "yx");
        assert_eq!(merged("abc", "", "abc"), "");
        assert_eq!(merged("abc", "", "abcd"), "d");
        assert_eq!(merged("abc", "abc", ""), "");
    }

    #[test]
    fn apply_falls_back_to_sequential_order() {
        let sp = |at, delete, insert: &str| Splice {
            at,
            delete,
            insert: insert.into(),
        };
        assert_eq!(apply("abc", &[sp(0, 1, "é"), sp(1, 0, "€")]), "é€bc");
        // Out-of-range offsets clamp instead of panicking.
        assert_eq!(apply("ab", &[sp(9, 3, "z")]), "abz");
    }
}
