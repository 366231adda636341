//! Invite codes: versioned, checksummed text that lets a peer join a workspace.
//!
//! `tandem1_` + lowercase unpadded RFC 4648 base32 of `payload || crc32_be`; the CRC
//! covers the version byte then the payload. See PROTOCOL-invite.md for the layout.
//! Base32 over base58: case-insensitive, so chat apps that capitalise text cannot break it.

use crate::members::Role;
use data_encoding::{DecodeKind, BASE32_NOPAD, BASE32_NOPAD_NOCASE, HEXLOWER};
use libp2p::{Multiaddr, PeerId};
use std::fmt;

/// Invite format version written by [`Invite::encode`].
pub const VERSION: u8 = 1;
/// Most inviter addresses an invite carries.
pub const MAX_ADDRS: usize = 8;
/// Longest encoded address, in bytes (its length prefix is one byte).
pub const MAX_ADDR_LEN: usize = 255;
/// Longest accepted code, in characters, not counting ignored whitespace.
pub const MAX_CODE_LEN: usize = 4096;

const PREFIX: &str = "tandem";
const BAD_CHAR: &str = "unexpected character (after \"tandem1_\" only a-z and 2-7 are used)";
const INCOMPLETE: &str = "wrong length (was it copied completely?)";

/// Everything a peer needs to find and join a workspace.
#[derive(Clone, PartialEq, Eq)]
pub struct Invite {
    /// Workspace being joined.
    pub workspace_id: [u8; 16],
    /// The workspace's pre-shared network key (secret).
    pub key: [u8; 32],
    /// Peer that issued the invite.
    pub inviter: PeerId,
    /// Inviter's dialable addresses, at most [`MAX_ADDRS`].
    pub addrs: Vec<Multiaddr>,
    /// Role the invitee receives.
    pub role: Role,
    /// Expiry, unix seconds.
    pub expires_at: u64,
    /// One-time secret token.
    pub token: [u8; 16],
}

/// Why a code could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum InviteError {
    /// The text is not a well-formed invite code; the reason is always a fixed string
    /// so that no secret from the code can leak into logs.
    #[error("invalid invite code: {0}")]
    Malformed(&'static str),
    /// The code was made by a newer (or unknown) format version.
    #[error("unsupported invite code version {0}: upgrade tandem")]
    UnsupportedVersion(u32),
}

fn bad(reason: &'static str) -> InviteError {
    InviteError::Malformed(reason)
}

/// Chat apps insert these when wrapping or "prettifying" long tokens.
fn is_ignorable(c: char) -> bool {
    c.is_whitespace() || "\u{AD}\u{200B}\u{200C}\u{200D}\u{2060}\u{FEFF}".contains(c)
}

// Callers keep every field within u8 range: PeerId::from_multihash caps peer ids at
// 44 bytes and encode() filters addresses by MAX_ADDR_LEN.
fn put_prefixed(bin: &mut Vec<u8>, field: &[u8]) {
    bin.push(field.len() as u8);
    bin.extend_from_slice(field);
}

fn checksum(version: u8, payload: &[u8]) -> [u8; 4] {
    let mut h = crc32fast::Hasher::new();
    h.update(&[version]);
    h.update(payload);
    h.finalize().to_be_bytes()
}

impl Invite {
    /// Encodes as `tandem1_…`. Addresses longer than [`MAX_ADDR_LEN`] bytes are
    /// skipped and only the first [`MAX_ADDRS`] are kept, since a decoder would
    /// reject anything more and a shorter list is still a usable invite.
    pub fn encode(&self) -> String {
        let mut bin = Vec::with_capacity(160);
        bin.extend_from_slice(&self.workspace_id);
        bin.extend_from_slice(&self.key);
        bin.extend_from_slice(&self.token);
        bin.push(self.role.code());
        bin.extend_from_slice(&self.expires_at.to_be_bytes());
        put_prefixed(&mut bin, &self.inviter.to_bytes());
        let addrs: Vec<Vec<u8>> = (self.addrs.iter().map(Multiaddr::to_vec))
            .filter(|a| a.len() <= MAX_ADDR_LEN)
            .take(MAX_ADDRS)
            .collect();
        bin.push(addrs.len() as u8);
        for addr in &addrs {
            put_prefixed(&mut bin, addr);
        }
        let crc = checksum(VERSION, &bin);
        bin.extend_from_slice(&crc);
        let body = BASE32_NOPAD.encode(&bin).to_ascii_lowercase();
        format!("{PREFIX}{VERSION}_{body}")
    }

    /// Decodes a pasted code, ignoring whitespace, zero-width characters and case.
    pub fn decode(text: &str) -> Result<Invite, InviteError> {
        // Normalise up front, bailing at the cap so hostile input cannot make us allocate.
        let mut code = String::new();
        for c in text.chars().filter(|&c| !is_ignorable(c)) {
            if !c.is_ascii() {
                return Err(bad(BAD_CHAR));
            }
            if code.len() == MAX_CODE_LEN {
                return Err(bad("too long"));
            }
            code.push(c.to_ascii_lowercase());
        }
        if code.is_empty() {
            return Err(bad("empty"));
        }
        let rest = (code.strip_prefix(PREFIX)).ok_or(bad("it does not start with \"tandem\""))?;
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let version = (rest[..digits].parse::<u32>()).map_err(|_| bad("bad version"))?;
        let body = (rest[digits..].strip_prefix('_')).ok_or(bad("no '_' after the version"))?;
        // Checked before the body, whose format a future version may change entirely.
        if version != u32::from(VERSION) {
            return Err(InviteError::UnsupportedVersion(version));
        }
        let bin = (BASE32_NOPAD_NOCASE.decode(body.as_bytes())).map_err(|e| match e.kind {
            DecodeKind::Symbol => bad(BAD_CHAR),
            _ => bad(INCOMPLETE),
        })?;
        let (payload, crc) = bin.split_last_chunk::<4>().ok_or(bad(INCOMPLETE))?;
        if checksum(VERSION, payload) != *crc {
            return Err(bad("checksum mismatch (was it copied completely?)"));
        }
        parse_payload(&mut Reader(payload))
    }

    /// Whether the invite may no longer be used at `now_unix` (expiry is exclusive).
    pub fn is_expired(&self, now_unix: u64) -> bool {
        now_unix >= self.expires_at
    }
}

// Only reachable when the checksum matched, i.e. from a buggy or hostile encoder.
fn parse_payload(r: &mut Reader<'_>) -> Result<Invite, InviteError> {
    // Struct literal fields are evaluated in the order written, which is the wire order.
    let mut invite = Invite {
        workspace_id: r.array()?,
        key: r.array()?,
        token: r.array()?,
        role: Role::from_code(r.byte()?).ok_or(bad("unknown role"))?,
        expires_at: u64::from_be_bytes(r.array()?),
        inviter: PeerId::from_bytes(r.prefixed()?).map_err(|_| bad("bad inviter peer id"))?,
        addrs: Vec::new(),
    };
    let count = usize::from(r.byte()?);
    if count > MAX_ADDRS {
        return Err(bad("too many addresses"));
    }
    invite.addrs.reserve_exact(count);
    for _ in 0..count {
        let bytes = r.prefixed()?.to_vec();
        invite
            .addrs
            .push(Multiaddr::try_from(bytes).map_err(|_| bad("bad address"))?);
    }
    if !r.0.is_empty() {
        return Err(bad("trailing bytes"));
    }
    Ok(invite)
}

/// Bounds-checked cursor, so garbage input errors out instead of panicking.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], InviteError> {
        let (head, rest) = self.0.split_at_checked(n).ok_or(bad("truncated payload"))?;
        self.0 = rest;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], InviteError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }
    fn byte(&mut self) -> Result<u8, InviteError> {
        Ok(self.take(1)?[0])
    }
    fn prefixed(&mut self) -> Result<&'a [u8], InviteError> {
        let n = self.byte()?;
        self.take(n.into())
    }
}

impl fmt::Debug for Invite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Invite")
            .field("workspace_id", &HEXLOWER.encode(&self.workspace_id))
            .field("key", &"<redacted>")
            .field("inviter", &self.inviter)
            .field("addrs", &self.addrs)
            .field("role", &self.role)
            .field("expires_at", &self.expires_at)
            .field("token", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libp2p::multiaddr::Protocol;
    use proptest::prelude::*;

    fn sample() -> Invite {
        let ip = Protocol::Ip4([127, 0, 0, 1].into());
        let addr = |port| Multiaddr::from(ip.clone()).with(Protocol::Tcp(port));
        Invite {
            workspace_id: [0xAB; 16],
            key: [0x11; 32],
            inviter: PeerId::from_bytes(&[[0x12, 0x20].as_slice(), &[0x33; 32]].concat()).unwrap(),
            addrs: vec![addr(4001), addr(4002)],
            role: Role::Editor,
            expires_at: 1_900_000_000,
            token: [0x11; 16],
        }
    }

    fn msg(text: &str) -> String {
        Invite::decode(text).unwrap_err().to_string()
    }

    fn with_checksum(payload: &[u8]) -> String {
        let bin = [payload, &checksum(1, payload)].concat();
        format!("tandem1_{}", BASE32_NOPAD.encode(&bin))
    }

    fn sample_payload() -> Vec<u8> {
        let bin = BASE32_NOPAD_NOCASE.decode(&sample().encode().as_bytes()[8..]);
        bin.unwrap().split_last_chunk::<4>().unwrap().0.to_vec()
    }

    #[test]
    fn round_trip_expiry_and_redaction() {
        let code = sample().encode();
        assert!(code.starts_with("tandem1_"));
        assert_eq!(Invite::decode(&code).unwrap(), sample());
        assert!(!sample().is_expired(1_899_999_999) && sample().is_expired(1_900_000_000));
        let dbg = format!("{:?}", sample());
        assert!(dbg.contains("<redacted>") && dbg.contains("abababab"));
        assert!(!dbg.contains("17, 17") && !dbg.contains("1111"), "{dbg}");
        // encode() drops what decode() would refuse rather than emit an unusable code.
        let mut big = sample();
        big.addrs = vec![big.addrs[0].clone(); 12];
        big.addrs[0] = Multiaddr::from(Protocol::Dns("a".repeat(300).into()));
        assert_eq!(
            Invite::decode(&big.encode()).unwrap().addrs,
            vec![big.addrs[1].clone(); 8]
        );
    }

    #[test]
    fn whitespace_and_case_are_tolerated() {
        let code = sample().encode();
        let (a, b, c) = (&code[..40], &code[40..100], &code[100..]);
        let pasted = format!("  \n{a}\n\u{200B} {b}\r\n  {c}\r\n\t");
        assert_eq!(Invite::decode(&pasted).unwrap(), sample());
        assert_eq!(Invite::decode(&code.to_uppercase()).unwrap(), sample());
    }

    #[test]
    fn every_corruption_and_truncation_is_rejected() {
        let code = sample().encode();
        let replacements = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-=é \n";
        for (i, old) in code.char_indices() {
            for new in replacements.chars().filter(|&c| c != old) {
                let bad = format!("{}{new}{}", &code[..i], &code[i + 1..]);
                match Invite::decode(&bad) {
                    Ok(inv) => assert!(new.eq_ignore_ascii_case(&old) && inv == sample(), "{bad}"),
                    // Position 6 is the version digit.
                    Err(e) => assert!(e.to_string().starts_with("invalid invite code") || i == 6),
                }
            }
        }
        for n in 0..code.len() {
            assert!(msg(&code[..n]).starts_with("invalid invite code: "), "{n}");
        }
        assert!(msg(&code[..code.len() - 8]).contains("copied completely"));
    }

    #[test]
    fn error_messages() {
        let unsupported = "unsupported invite code version 7: upgrade tandem";
        assert_eq!(msg("Tandem7_abc"), unsupported);
        assert!(msg("hello").starts_with("invalid invite code: it does not start"));
        assert!(msg(&"a".repeat(5000)).ends_with("too long"));
        let mut code = sample().encode().into_bytes();
        code[30] = if code[30] == b'a' { b'b' } else { b'a' };
        assert!(msg(std::str::from_utf8(&code).unwrap()).contains("checksum mismatch"));
        // Well-checksummed but malformed payloads can only come from a broken encoder.
        let mut p = vec![0u8; 64];
        p.push(9);
        assert!(msg(&with_checksum(&p)).ends_with("unknown role"));
        let p = sample_payload();
        assert!(msg(&with_checksum(&[&p[..], &[0]].concat())).ends_with("trailing bytes"));
        assert!(msg(&with_checksum(&p[..p.len() - 1])).ends_with("truncated payload"));
    }

    fn arb_peer() -> impl Strategy<Value = PeerId> {
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..=42).prop_map(|d| [vec![0, d.len() as u8], d].concat()),
            any::<[u8; 32]>().prop_map(|d| [vec![0x12, 0x20], d.to_vec()].concat()),
        ]
        .prop_map(|b| PeerId::from_bytes(&b).unwrap())
    }

    fn arb_addr() -> impl Strategy<Value = Multiaddr> {
        let host = prop_oneof![
            any::<[u8; 4]>().prop_map(|b| Protocol::Ip4(b.into())),
            any::<[u8; 16]>().prop_map(|b| Protocol::Ip6(b.into())),
            "[a-z0-9.-]{1,60}".prop_map(|s| Protocol::Dns(s.into())),
        ];
        (host, any::<u16>(), any::<bool>()).prop_map(|(host, port, tcp)| {
            let transport = if tcp { Protocol::Tcp } else { Protocol::Udp };
            Multiaddr::from(host).with(transport(port))
        })
    }

    proptest! {
        #[test]
        fn decode_never_panics(s in any::<String>(), tail in any::<Vec<u8>>(), at: usize, b: u8) {
            let _ = Invite::decode(&s);
            let _ = Invite::decode(&format!("tandem1_{}", String::from_utf8_lossy(&tail)));
            let _ = Invite::decode(&format!("tandem1_{}", BASE32_NOPAD.encode(&tail)));
            let _ = Invite::decode(&with_checksum(&tail));
            // Past the checksum: a valid payload with one byte changed and garbage appended.
            let mut p = sample_payload();
            let i = at % p.len();
            p[i] = b;
            let _ = Invite::decode(&with_checksum(&p));
            p.extend_from_slice(&tail);
            let _ = Invite::decode(&with_checksum(&p));
        }

        #[test]
        fn encode_decode_is_identity(
            workspace_id: [u8; 16], key: [u8; 32], token: [u8; 16], expires_at: u64, role in 0u8..3,
            inviter in arb_peer(), addrs in prop::collection::vec(arb_addr(), 0..=MAX_ADDRS),
        ) {
            let role = Role::from_code(role).unwrap();
            let inv = Invite { workspace_id, key, inviter, addrs, role, expires_at, token };
            let code = inv.encode();
            prop_assert!(code.len() <= MAX_CODE_LEN);
            prop_assert_eq!(Invite::decode(&code).unwrap(), inv);
        }
    }
}
