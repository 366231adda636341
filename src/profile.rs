//! Members' own display names and colours: `profile` ops in the review log, folded like every
//! other op (author = the peer owning the inserting client id, array order everywhere).
//!
//! The members document keeps the name a member joined with; only owners write it. A profile lets
//! every member — viewers too — rename themselves and pick a colour, live and for good. A chosen
//! name never takes another member's: a name that another member joined with, or that another
//! member chose earlier in the log, is not taken (the member keeps their previous name), so no
//! one can pass for a teammate, and every peer decides the same way.

use crate::review::{Entry, Who};
use std::collections::HashMap;

/// The op's name in the review log.
pub const OP: &str = "profile";
/// Longest display name, in characters.
pub const MAX_NAME: usize = 32;

/// A member's chosen name and colour, as folded.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Profile {
    /// Chosen display name, if any was taken.
    pub name: Option<String>,
    /// Chosen colour `#rrggbb`, if any.
    pub colour: Option<String>,
}

/// Checks a display name: one word (so that `@name` mentions it) of letters, digits, `-`, `_`
/// or `.`, 1 to [`MAX_NAME`] characters. Returns it trimmed.
pub fn check_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    let count = name.chars().count();
    if count == 0 || count > MAX_NAME {
        return Err(format!("a name is 1 to {MAX_NAME} characters"));
    }
    if !name
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err("a name is one word of letters, digits, '-', '_' or '.' (so that @name mentions it)".into());
    }
    Ok(name.to_string())
}

/// Checks a colour: `#rrggbb`. Returns it in lowercase.
pub fn check_colour(colour: &str) -> Result<String, String> {
    let c = colour.trim();
    match c.strip_prefix('#') {
        Some(hex) if hex.len() == 6 && hex.chars().all(|h| h.is_ascii_hexdigit()) => Ok(c.to_ascii_lowercase()),
        _ => Err(format!(
            "a colour is written #rrggbb, not {:?}",
            colour.chars().take(16).collect::<String>()
        )),
    }
}

/// Folds the review log's profile ops. `members` holds each member's role and joined name; the
/// result holds, for every member with a profile op, the name and colour in force.
pub fn fold(log: &[Entry], members: &HashMap<String, Who>) -> HashMap<String, Profile> {
    // Each member's latest valid name (with the log position that set it) and colour.
    let mut names: HashMap<&str, (usize, String)> = HashMap::new();
    let mut out: HashMap<String, Profile> = HashMap::new();
    for (pos, e) in log.iter().enumerate() {
        if !members.contains_key(&e.author) || op_str(e, "op") != Some(OP) {
            continue;
        }
        if let Some(name) = op_str(e, "name").and_then(|n| check_name(n).ok()) {
            names.insert(&e.author, (pos, name));
        }
        if let Some(colour) = op_str(e, "colour").and_then(|c| check_colour(c).ok()) {
            out.entry(e.author.clone()).or_default().colour = Some(colour);
        }
        out.entry(e.author.clone()).or_default();
    }
    // Earlier claims first: a name goes to whoever chose it first among those still holding it.
    let mut claims: Vec<(&str, usize, String)> = names.into_iter().map(|(a, (p, n))| (a, p, n)).collect();
    claims.sort_by_key(|c| c.1);
    let mut taken: HashMap<String, &str> = HashMap::new();
    for (author, _, name) in claims {
        let key = name.to_lowercase();
        if joined_by_other(&key, author, members).is_some() || taken.get(&key).is_some_and(|holder| *holder != author) {
            continue;
        }
        taken.insert(key, author);
        out.entry(author.to_string()).or_default().name = Some(name);
    }
    out
}

/// The name, as another member holds it, that `name` would clash with if `me` claimed it now:
/// another member joined with it, or has it in force (the rule of [`fold`], asked before a claim
/// so that the user gets a reason instead of a claim that is not taken).
pub fn holder<'a>(
    name: &str,
    me: &str,
    members: &'a HashMap<String, Who>,
    profiles: &'a HashMap<String, Profile>,
) -> Option<&'a str> {
    let key = name.to_lowercase();
    joined_by_other(&key, me, members).or_else(|| {
        profiles
            .iter()
            .filter(|(peer, _)| *peer != me)
            .filter_map(|(_, p)| p.name.as_deref())
            .find(|n| n.to_lowercase() == key)
    })
}

/// The joined name of a member other than `me` that equals `key` (lowercase), if any.
fn joined_by_other<'a>(key: &str, me: &str, members: &'a HashMap<String, Who>) -> Option<&'a str> {
    members
        .iter()
        .find(|(peer, w)| *peer != me && w.name.to_lowercase() == key)
        .map(|(_, w)| w.name.as_str())
}

/// Applies the profiles to `who`: chosen names replace joined ones.
pub fn apply(who: &mut HashMap<String, Who>, profiles: &HashMap<String, Profile>) {
    for (peer, p) in profiles {
        if let (Some(w), Some(name)) = (who.get_mut(peer), &p.name) {
            w.name = name.clone();
        }
    }
}

fn op_str<'a>(e: &'a Entry, k: &str) -> Option<&'a str> {
    match e.op.get(k) {
        Some(yrs::Any::String(s)) => Some(s),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::members::Role;
    use crate::review::op;

    fn members(list: &[(&str, &str)]) -> HashMap<String, Who> {
        list.iter()
            .map(|(p, n)| {
                (
                    p.to_string(),
                    Who {
                        role: Role::Editor,
                        name: n.to_string(),
                    },
                )
            })
            .collect()
    }

    fn profile(author: &str, name: Option<&str>, colour: Option<&str>) -> Entry {
        let mut fields = vec![("op", OP.into())];
        if let Some(n) = name {
            fields.push(("name", n.into()));
        }
        if let Some(c) = colour {
            fields.push(("colour", c.into()));
        }
        let yrs::Any::Map(m) = op(&fields) else { unreachable!() };
        Entry {
            author: author.into(),
            id: String::new(),
            op: (*m).clone(),
        }
    }

    #[test]
    fn the_latest_name_and_colour_of_a_member_are_in_force() {
        let who = members(&[("p1", "alice"), ("p2", "bob")]);
        let log = [
            profile("p1", Some("ally"), Some("#AABBCC")),
            profile("p1", Some("al"), None),
        ];
        let p = fold(&log, &who);
        assert_eq!(p["p1"].name.as_deref(), Some("al"));
        assert_eq!(p["p1"].colour.as_deref(), Some("#aabbcc"));
        assert!(!p.contains_key("p2"));
    }

    #[test]
    fn a_name_another_member_joined_with_or_chose_first_is_not_taken() {
        let who = members(&[("p1", "alice"), ("p2", "bob"), ("p3", "carol")]);
        let log = [
            profile("p2", Some("Alice"), None), // alice's joined name: refused
            profile("p3", Some("dave"), None),
            profile("p2", Some("DAVE"), None),  // carol chose it first: refused
            profile("p1", Some("alice"), None), // her own joined name: fine
        ];
        let p = fold(&log, &who);
        assert_eq!(p["p2"].name, None);
        assert_eq!(p["p3"].name.as_deref(), Some("dave"));
        assert_eq!(p["p1"].name.as_deref(), Some("alice"));
        let mut named = who.clone();
        apply(&mut named, &p);
        assert_eq!(named["p2"].name, "bob");
        assert_eq!(named["p3"].name, "dave");
    }

    #[test]
    fn a_name_given_up_can_be_taken_by_someone_else() {
        let who = members(&[("p1", "alice"), ("p2", "bob")]);
        let log = [
            profile("p1", Some("ace"), None),
            profile("p1", Some("ally"), None),
            profile("p2", Some("ace"), None),
        ];
        let p = fold(&log, &who);
        assert_eq!(p["p1"].name.as_deref(), Some("ally"));
        assert_eq!(p["p2"].name.as_deref(), Some("ace"));
    }

    #[test]
    fn invalid_names_and_colours_from_peers_are_ignored_and_strangers_have_no_profile() {
        let who = members(&[("p1", "alice")]);
        let log = [
            profile("p1", Some("two words"), Some("red")),
            profile("stranger", Some("mallory"), Some("#000000")),
        ];
        let p = fold(&log, &who);
        assert_eq!(p["p1"], Profile::default());
        assert!(!p.contains_key("stranger"));
    }

    #[test]
    fn names_and_colours_are_checked_with_a_message_that_says_the_rule() {
        assert_eq!(check_name("  bob "), Ok("bob".into()));
        assert_eq!(check_name("zoë_2"), Ok("zoë_2".into()));
        assert!(check_name("").unwrap_err().contains("1 to 32"));
        assert!(check_name("a b").unwrap_err().contains("one word"));
        assert!(check_name(&"x".repeat(33)).is_err());
        assert_eq!(check_colour("#12AB9f"), Ok("#12ab9f".into()));
        assert!(check_colour("#12345").unwrap_err().contains("#rrggbb"));
        assert!(check_colour("blue").is_err());
    }
}
