//! Three-way text merge: a save on disk rebased onto the live document's text.

use dissimilar::Chunk;
use std::collections::HashMap;

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

/// Work allowed for dissimilar, whose worst case is ~(chars of both sides)²: dozens of ms.
const BUDGET: usize = 1 << 25;
/// Most edits the fallback Myers pass may find before giving up; keeps its trace to a few MB.
const MAX_D: usize = 1024;

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
///
/// dissimilar has no deadline and a full rewrite of a few hundred KB takes minutes, so only
/// regions it can finish within `budget` go to it. Bigger texts are first cut at unique lines;
/// a section still too big gets a capped Myers pass, and failing that one coarse, correct hunk.
fn hunks(from: &str, to: &str, budget: usize) -> Vec<Splice> {
    let (a, b, at) = trim(from, to);
    let (mut out, mut budget) = (Vec::new(), budget);
    let size = a.chars().count() + b.chars().count();
    if size.saturating_mul(size) <= budget {
        region(a, b, at, &mut budget, &mut out);
    } else {
        by_lines(a, b, at, &mut budget, &mut out);
    }
    out
}

/// Strips the common whole lines at both ends: `(from_mid, to_mid, chars in the prefix)`.
///
/// Whole lines, because dissimilar aligns edits to line and word boundaries it can see.
fn trim<'a>(from: &'a str, to: &'a str) -> (&'a str, &'a str, usize) {
    let (x, y) = (from.as_bytes(), to.as_bytes());
    let pre = x.iter().zip(y).take_while(|(c, d)| c == d).count();
    let most = x.len().min(y.len()) - pre;
    let pairs = x.iter().rev().zip(y.iter().rev());
    let suf = pairs.take(most).take_while(|(c, d)| c == d).count();
    // Cutting just after a '\n' is always on a char boundary of both texts.
    let pre = x[..pre].iter().rposition(|&c| c == b'\n').map_or(0, |i| i + 1);
    let tail = x[x.len() - suf..].iter().position(|&c| c == b'\n');
    let suf = tail.map_or(0, |i| suf - i - 1);
    let (a, b) = (&from[pre..x.len() - suf], &to[pre..y.len() - suf]);
    (a, b, from[..pre].chars().count())
}

/// Splits both texts at patience-diff anchors (lines occurring once in each, kept in
/// order) and diffs the sections between them, so big files cost about their changes.
fn by_lines<'a>(a: &'a str, b: &'a str, at: usize, budget: &mut usize, out: &mut Vec<Splice>) {
    let (la, lb) = (lines(a), lines(b));
    let mut seen: HashMap<&str, [usize; 4]> = HashMap::new();
    for (i, w) in la.windows(2).enumerate() {
        let e = seen.entry(&a[w[0].0..w[1].0]).or_default();
        (e[0], e[1]) = (e[0] + 1, i);
    }
    for (j, w) in lb.windows(2).enumerate() {
        let e = seen.entry(&b[w[0].0..w[1].0]).or_default();
        (e[2], e[3]) = (e[2] + 1, j);
    }
    let unique = |w: &[(usize, usize)]| seen.get(&a[w[0].0..w[1].0]).copied();
    let unique = la.windows(2).filter_map(unique).filter(|e| e[0] == 1 && e[2] == 1);
    let pairs: Vec<(usize, usize)> = unique.map(|e| (e[1], e[3])).collect();
    // Longest run of anchors increasing in both texts, by patience sorting.
    let (mut tails, mut back) = (Vec::<usize>::new(), vec![None; pairs.len()]);
    for (i, &(_, j)) in pairs.iter().enumerate() {
        let k = tails.partition_point(|&t| pairs[t].1 < j);
        back[i] = k.checked_sub(1).map(|k| tails[k]);
        if k == tails.len() {
            tails.push(i);
        } else {
            tails[k] = i;
        }
    }
    let (mut chain, mut cur) = (vec![(la.len() - 1, lb.len() - 1)], tails.last().copied());
    while let Some(i) = cur {
        chain.push(pairs[i]);
        cur = back[i];
    }
    let mut from = (0, 0);
    for &(i, j) in chain.iter().rev() {
        let (a_part, b_part) = (&a[la[from.0].0..la[i].0], &b[lb[from.1].0..lb[j].0]);
        if !a_part.is_empty() || !b_part.is_empty() {
            region(a_part, b_part, at + la[from.0].1, budget, out);
        }
        from = (i + 1, j + 1);
    }
}

/// `(byte, char)` offset of every line start, plus one for the end of the text.
fn lines(s: &str) -> Vec<(usize, usize)> {
    let mut starts = vec![(0, 0)];
    for line in s.split_inclusive('\n') {
        let (bytes, chars) = starts[starts.len() - 1];
        starts.push((bytes + line.len(), chars + line.chars().count()));
    }
    starts
}

/// Appends hunks turning `a` into `b`, where `a` starts at char `at` of the old text.
fn region(a: &str, b: &str, at: usize, budget: &mut usize, out: &mut Vec<Splice>) {
    // Unchanged sections between anchors must not turn into a no-op coarse hunk.
    if a == b {
        return;
    }
    let (ca, cb): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let size = ca.len() + cb.len();
    if size.saturating_mul(size) <= *budget {
        *budget -= size * size;
        return dissimilar_hunks(a, b, at, out);
    }
    let whole = [[0, ca.len(), 0, cb.len()]];
    for &[a0, a1, b0, b1] in myers(&ca, &cb, budget).as_deref().unwrap_or(&whole) {
        let insert = cb[b0..b1].iter().collect();
        out.push(Splice {
            at: at + a0,
            delete: a1 - a0,
            insert,
        });
    }
}

/// Myers' diff of token slices: changed regions `[a_start, a_end, b_start, b_end]`,
/// ascending and apart; `None` past `MAX_D` edits or once it has spent `budget`.
fn myers<T: Eq>(a: &[T], b: &[T], budget: &mut usize) -> Option<Vec<[usize; 4]>> {
    let (n, m, off) = (a.len() as isize, b.len() as isize, MAX_D as isize + 1);
    let mut v = vec![0isize; 2 * MAX_D + 3];
    let mut trace: Vec<Vec<isize>> = Vec::new();
    for d in 0..=MAX_D as isize {
        for k in (-d..=d).step_by(2) {
            let i = (off + k) as usize;
            let start = if down(&|k| v[(off + k) as usize], k, d) {
                v[i + 1]
            } else {
                v[i - 1] + 1
            };
            let mut x = start;
            while x < n && x - k < m && a[x as usize] == b[(x - k) as usize] {
                x += 1;
            }
            // Spent even on failure, so many hopeless sections cannot each use the whole budget.
            *budget = budget.saturating_sub(1 + (x - start) as usize);
            if *budget == 0 {
                return None;
            }
            v[i] = x;
            if x >= n && x - k >= m {
                return Some(backtrack(&trace, n, m));
            }
        }
        trace.push(v[(off - d) as usize..=(off + d) as usize].to_vec());
    }
    None
}

/// Whether Myers reaches diagonal `k` at step `d` by a move down (an insertion).
fn down(v: &dyn Fn(isize) -> isize, k: isize, d: isize) -> bool {
    k == -d || (k != d && v(k - 1) < v(k + 1))
}

/// Recovers the changed regions from the furthest-reaching points of each step before the last.
fn backtrack(trace: &[Vec<isize>], n: isize, m: isize) -> Vec<[usize; 4]> {
    let (mut x, mut y, mut regions) = (n, m, Vec::<[usize; 4]>::new());
    for d in (1..=trace.len() as isize).rev() {
        let prev = &trace[d as usize - 1];
        let at = |k: isize| prev[(k + d - 1) as usize];
        let k = x - y;
        let pk = if down(&at, k, d) { k + 1 } else { k - 1 };
        let (px, py) = (at(pk), at(pk) - pk);
        let (ex, ey) = if pk > k { (px, py + 1) } else { (px + 1, py) };
        let fresh = [px as usize, ex as usize, py as usize, ey as usize];
        // No snake between this edit and the next one: they form one region.
        match regions.last_mut() {
            Some(r) if (x, y) == (ex, ey) => (r[0], r[2]) = (fresh[0], fresh[2]),
            _ => regions.push(fresh),
        }
        (x, y) = (px, py);
    }
    regions.reverse();
    regions
}

/// Appends dissimilar's hunks for `from`→`to`, shifted to start at char `at`.
fn dissimilar_hunks(from: &str, to: &str, at: usize, out: &mut Vec<Splice>) {
    let mut open: Option<Splice> = None;
    let mut pos = at;
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
            Chunk::Insert(_) => open.get_or_insert_with(|| empty(pos)).insert.push_str(s),
        }
    }
    out.extend(open);
}

/// Splices turning `from` into `to`, in DESCENDING order of `at` so that applying them one after another in the returned order is correct.
pub fn diff(from: &str, to: &str) -> Vec<Splice> {
    let mut splices = hunks(from, to, BUDGET);
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
/// A huge, heavily rewritten region may be diffed as one coarse hunk; the rule then applies to it whole.
pub fn rebase(base: &str, ours: &str, theirs: &str) -> Vec<Splice> {
    if ours == base {
        return Vec::new();
    }
    if theirs == base {
        return diff(theirs, ours);
    }
    rebase_general(base, ours, theirs, BUDGET)
}

/// The general case of [`rebase`], kept separate so tests can run it without the fast paths.
fn rebase_general(base: &str, ours: &str, theirs: &str, budget: usize) -> Vec<Splice> {
    let mine = hunks(base, ours, budget);
    let remote = hunks(base, theirs, budget);
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

    /// Work budgets that force the line-level and capped-Myers fallbacks on small texts.
    const TIGHT: [usize; 2] = [0, 40];

    fn merged(base: &str, ours: &str, theirs: &str) -> String {
        let fast = checked(theirs, &rebase(base, ours, theirs));
        let general = checked(theirs, &rebase_general(base, ours, theirs, BUDGET));
        assert_eq!(fast, general, "fast path and general case disagree");
        fast
    }

    /// The merge under each tight budget: coarser hunks, same guarantees.
    fn merged_tight(base: &str, ours: &str, theirs: &str) -> Vec<String> {
        let run = |b| checked(theirs, &rebase_general(base, ours, theirs, b));
        TIGHT.into_iter().map(run).collect()
    }

    fn only(s: &str, set: &[char]) -> String {
        s.chars().filter(|c| set.contains(c)).collect()
    }

    proptest! {
        #[test]
        fn theirs_unchanged_gives_ours((b, o, _) in triple(ALPHA, ALPHA)) {
            prop_assert_eq!(merged(&b, &o, &b), o.clone());
            prop_assert!(merged_tight(&b, &o, &b).iter().all(|got| *got == o));
        }

        #[test]
        fn ours_unchanged_gives_theirs((b, _, t) in triple(ALPHA, ALPHA)) {
            prop_assert_eq!(merged(&b, &b, &t), t.clone());
            prop_assert!(merged_tight(&b, &b, &t).iter().all(|got| *got == t));
        }

        #[test]
        fn disjoint_edits_merge_classically(
            a in text(ALPHA, 6), a2 in text(ALPHA, 6), mid in text(ALPHA, 4),
            c in text(ALPHA, 6), c2 in text(ALPHA, 6),
        ) {
            // '|' never occurs in the edits, so no diff can slide a hunk across the middle.
            let base = format!("{a}|{mid}|{c}");
            let (ours, theirs) = (format!("{a2}|{mid}|{c}"), format!("{a}|{mid}|{c2}"));
            let want = format!("{a2}|{mid}|{c2}");
            // Not under tight budgets: a coarse hunk may cover both edits.
            prop_assert_eq!(merged(&base, &ours, &theirs), want);
        }

        #[test]
        fn inserted_text_of_both_sides_survives_in_order((b, o, t) in triple(OURS_MARKED, THEIRS_MARKED)) {
            for got in merged_tight(&b, &o, &t).into_iter().chain([merged(&b, &o, &t)]) {
                prop_assert_eq!(only(&got, &['X', 'Y']), only(&o, &['X', 'Y']));
                prop_assert_eq!(only(&got, &['P', 'Q']), only(&t, &['P', 'Q']));
            }
        }

        #[test]
        fn arbitrary_triples_give_valid_splices(b in text(ALPHA, 10), o in text(ALPHA, 10), t in text(ALPHA, 10)) {
            merged(&b, &o, &t);
            merged_tight(&b, &o, &t);
        }

        #[test]
        fn diff_round_trips(from in text(ALPHA, 16), to in text(ALPHA, 16)) {
            prop_assert_eq!(checked(&from, &diff(&from, &to)), to.clone());
            for budget in TIGHT {
                let mut splices = hunks(&from, &to, budget);
                splices.reverse();
                prop_assert_eq!(checked(&from, &splices), to.clone());
            }
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
    fn big_rewrites_stay_fast_and_fine_grained() {
        let base: String = (0..20_000).map(|i| format!("line {i} é😀\n")).collect();
        let reversed: String = base.chars().rev().collect();
        assert_eq!(checked(&base, &diff(&base, &reversed)), reversed);
        let every_50th = |(i, l): (usize, &str)| if i % 50 == 0 { format!("{l}X") } else { l.to_owned() };
        let ours: String = base.split_inclusive('\n').enumerate().map(every_50th).collect();
        let theirs = base.replacen("line 7 ", "line seven ", 1);
        assert_eq!(diff(&base, &ours).len(), 400);
        let got = merged(&base, &ours, &theirs);
        assert_eq!(got, ours.replacen("line 7 ", "line seven ", 1));
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
