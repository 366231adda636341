use futures::executor::block_on;
use libp2p::request_response::{cbor, Codec};
use libp2p::StreamProtocol;
use tandem::wire::*;

fn hex(b: &[u8]) -> String { b.iter().map(|x| format!("{x:02x}")).collect() }
fn dehex(s: &str) -> Vec<u8> { (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i+2], 16).unwrap()).collect() }

#[test]
fn probe() {
    let p = StreamProtocol::new("/tandem/sync/1");
    let mut c = cbor::codec::Codec::<SyncRequest, SyncResponse>::default();
    let upd = dehex("01018080a8c99e912c00040107636f6e74656e7402686900");
    let ds = blake3::hash(&[0u8]).as_bytes()[..8].to_vec();
    let reqs = vec![
        SyncRequest::Sync { v: 1, have: vec![DocVector { doc: "f:hello.txt".into(), sv: dehex("018080a8c99e912c02"), ds }] },
        SyncRequest::Join { v: 1, token: vec![0x22; 16], name: "Ada".into() },
    ];
    for r in reqs {
        let mut out = futures::io::Cursor::new(Vec::new());
        block_on(c.write_request(&p, &mut out, r)).unwrap();
        println!("req {}", hex(out.get_ref()));
    }
    let resps = vec![
        SyncResponse::Updates { v: 1, updates: vec![DocUpdate { doc: "f:hello.txt".into(), data: upd }], more: false, total_docs: 2 },
        SyncResponse::Joined { v: 1, role: "editor".into() },
        SyncResponse::Refused { v: 1, reason: "invite code already used".into() },
    ];
    for r in resps {
        let mut out = futures::io::Cursor::new(Vec::new());
        block_on(c.write_response(&p, &mut out, r)).unwrap();
        println!("resp {}", hex(out.get_ref()));
    }
}
