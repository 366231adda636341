//! Checks of a peer's Yjs v1 encoding that yrs itself does not make, each found by fuzzing.
//!
//! yrs reserves room for as many entries as a header claims before reading a single one. It
//! reserves fallibly, so an impossible claim is an error, but a merely huge one succeeds: seven
//! bytes claiming 2^28 clients made a receiver allocate and clear over 500 MB and spend 0.4 s on
//! them (found by the `update` fuzz target). A claim larger than the bytes could ever hold is
//! refused here instead. And yrs integrates blocks listed out of clock order, which can hang.

use std::panic::{catch_unwind, AssertUnwindSafe};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{StateVector, StickyIndex, Update};

/// Fewest bytes one client takes in an update: its block count, its id and its first clock.
const MIN_CLIENT_BYTES: usize = 3;
/// Fewest bytes one entry of a state vector takes: a client id and a clock.
const MIN_SV_ENTRY_BYTES: usize = 2;

/// Whether the client count an update claims fits in its bytes. Bytes whose head does not even
/// parse pass, so that yrs reports them with its own error.
pub(crate) fn update_counts_fit(bytes: &[u8]) -> bool {
    count_fits(bytes, MIN_CLIENT_BYTES)
}

/// Whether the entry count a state vector claims fits in its bytes.
pub(crate) fn state_vector_counts_fit(bytes: &[u8]) -> bool {
    count_fits(bytes, MIN_SV_ENTRY_BYTES)
}

/// A peer's state vector, or None if it is malformed. Decoded inside a panic boundary: yrs
/// asserts (in debug builds) that client ids fit in 53 bits, and a peer's need not (found by the
/// `envelope` fuzz target, in an anchor).
pub(crate) fn state_vector(bytes: &[u8]) -> Option<StateVector> {
    if !state_vector_counts_fit(bytes) {
        return None;
    }
    catch_unwind(|| StateVector::decode_v1(bytes)).ok()?.ok()
}

/// A sticky index (a comment's or cursor's anchor) from a peer, or None if it is malformed.
pub(crate) fn sticky_index(bytes: &[u8]) -> Option<StickyIndex> {
    catch_unwind(|| StickyIndex::decode_v1(bytes)).ok()?.ok()
}

/// Whether each client's blocks in a decoded update run in clock order, as every encoder writes
/// them. yrs reads a client listed twice in one update as one run with its clocks going back, and
/// integrating that can loop forever (found by the `sync_response` fuzz target: the core thread
/// hung). An encoding lays each client's blocks end to end, so an update in order decodes from its
/// own encoding to the same ids; one out of order does not.
pub(crate) fn blocks_in_clock_order(update: &Update) -> bool {
    let again = catch_unwind(AssertUnwindSafe(|| Update::decode_v1(&update.encode_v1())));
    matches!(again, Ok(Ok(again)) if again.insertions(true) == update.insertions(true))
}

fn count_fits(bytes: &[u8], min_entry: usize) -> bool {
    let mut rest = bytes;
    match read_var(&mut rest) {
        Some(n) => n <= (rest.len() / min_entry) as u64,
        None => true,
    }
}

/// One unsigned LEB128 number (lib0's `varUint`), or None if it is cut short or too long.
fn read_var(bytes: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            *bytes = &bytes[i + 1..];
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::{Doc, GetString, ReadTxn, Text, Transact};

    #[test]
    fn real_updates_and_state_vectors_fit() {
        let doc = Doc::with_client_id(7);
        let text = doc.get_or_insert_text("content");
        let mut txn = doc.transact_mut();
        text.insert(&mut txn, 0, "hello");
        let update = txn.encode_update_v1();
        assert!(update_counts_fit(&update));
        assert!(blocks_in_clock_order(&Update::decode_v1(&update).unwrap()));
        assert!(state_vector_counts_fit(&txn.state_vector().encode_v1()));
        assert_eq!(text.get_string(&txn), "hello");
        let empty = Doc::new();
        let txn = empty.transact();
        assert!(update_counts_fit(&txn.encode_state_as_update_v1(&Default::default())));
        assert!(state_vector_counts_fit(&txn.state_vector().encode_v1()));
    }

    #[test]
    fn a_seven_byte_update_claiming_millions_of_clients_does_not_fit() {
        // The `update` fuzz target's input: 2^28 - 1 clients in four bytes.
        assert!(!update_counts_fit(&[0xff, 0xff, 0xff, 0x7f]));
        assert!(!state_vector_counts_fit(&[0xff, 0xff, 0xff, 0x7f, 1, 1]));
        assert!(!update_counts_fit(&[2, 0, 0]));
    }

    #[test]
    fn a_peer_update_claiming_millions_of_clients_is_refused_before_decoding() {
        let mut docs = crate::docs::DocSet::new(1);
        let id = crate::docs::DocId::Chat;
        let err = docs.apply_remote(&id, &[0xff, 0xff, 0xff, 0x7f], true, &|_| true);
        let err = err.expect_err("the update must be refused").to_string();
        assert!(err.contains("claims more clients than its bytes hold"), "{err}");
    }

    #[test]
    fn an_update_listing_a_client_twice_with_its_clocks_going_back_is_refused() {
        // The `sync_response` fuzz target's input, reduced to its file update: client
        // 0x1c87c6bbc0 0001 writes 44 units from clock 0, then is listed again from clock 0.
        let hex = "02058180c0bbc6871c00848080c0bbc6871c0b10666e206d61696e2829207b207072696e848180c0bbc6871c0f026c6e\
                   c48180c0bbc6871c0f8180c0bbc6871c100174848180c0bbc6871c11187d0a68c3a96c6c6f2077c3b6726c6420e2869220\
                   e29c930a2801046d6574610764656c657465640178028180c0bbc6871c00010107636f6e74656e7406848080c0bbc6871c\
                   0506776f726c640a018080c0bbc6871c010006";
        let bytes = data_encoding::HEXLOWER.decode(hex.as_bytes()).unwrap();
        assert!(!blocks_in_clock_order(&Update::decode_v1(&bytes).unwrap()));
        let mut docs = crate::docs::DocSet::new(1);
        let path = crate::workspace::RelPath::new("src/a.txt").unwrap();
        let err = docs.apply_remote(&crate::docs::DocId::File(path), &bytes, true, &|_| true);
        let err = err.expect_err("the update must be refused").to_string();
        assert!(err.contains("out of clock order"), "{err}");
    }

    #[test]
    fn client_ids_past_53_bits_in_anchors_and_state_vectors_do_not_panic() {
        // Client 2^60: yrs's debug assertion fired on it, outside any panic boundary, when the
        // review fold placed a peer's comment (and would have for a peer's state vector).
        let client = [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10];
        let anchor = [&[0][..], &client, &[0, 0]].concat();
        let mut docs = crate::docs::DocSet::new(1);
        let path = crate::workspace::RelPath::new("a.txt").unwrap();
        let insert = "one\ntwo\n".to_string();
        docs.edit_file(
            &path,
            &[crate::merge::Splice {
                at: 0,
                delete: 0,
                insert,
            }],
        );
        let _ = docs.place("a.txt", &anchor, &anchor);
        let theirs = crate::wire::DocVector {
            doc: "f:a.txt".into(),
            sv: [&[1][..], &client, &[1]].concat(),
            ds: Vec::new(),
        };
        // Malformed counts as "has nothing": the whole document goes back.
        let whole = docs.missing(&crate::docs::DocId::File(path), Some(&theirs));
        assert!(whole.is_some_and(|u| !u.is_empty()));
    }

    #[test]
    fn heads_that_do_not_parse_are_left_to_yrs() {
        assert!(update_counts_fit(&[]));
        assert!(update_counts_fit(&[0x80, 0x80]));
        assert!(update_counts_fit(&[0xff; 11]));
    }
}
