//! Five peers as separate hosts: a network namespace each, joined through two bridges (hosts 0-2
//! on one, 3-4 on the other) linked by one veth pair, with `tc netem` loss, delay and reordering
//! where the kernel has it. Cutting the link partitions them 2 / 3; both sides edit; healing it
//! must bring byte-identical folders within a stated time. Discovery inside the LAN is mDNS.

use crate::common::tree;
use crate::matrix::{report, seed, setting};
use crate::procs::{invite, ok, process_panics, wait_until_within, Host, Proc};
use rand::{Rng, SeedableRng};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const HOSTS: usize = 5;
/// Sides of the partition: hosts on bridge A, the rest on bridge B.
const SIDE_A: usize = 3;
/// The stated bound: after healing, every folder is identical within this time.
const HEAL_BOUND: Duration = Duration::from_secs(90);

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The namespaces, bridges and links; removed on drop.
struct Lan {
    hosts: Vec<String>,
    switch: String,
    uplink: String,
    netem: bool,
}

impl Lan {
    fn new() -> Option<Lan> {
        let id = std::process::id() % 10_000;
        let switch = format!("tdm{id}sw");
        let mut lan = Lan {
            hosts: Vec::new(),
            switch: switch.clone(),
            uplink: format!("u{id}a"),
            netem: false,
        };
        if !ip(&["netns", "add", &switch]) {
            return None;
        }
        let sw = |args: &[&str]| ip(&[&["-n", switch.as_str()][..], args].concat());
        let ok = sw(&["link", "add", "bra", "type", "bridge", "mcast_snooping", "0"])
            && sw(&["link", "add", "brb", "type", "bridge", "mcast_snooping", "0"])
            && sw(&[
                "link",
                "add",
                &lan.uplink,
                "type",
                "veth",
                "peer",
                "name",
                &format!("u{id}b"),
            ])
            && sw(&["link", "set", &lan.uplink, "master", "bra"])
            && sw(&["link", "set", &format!("u{id}b"), "master", "brb"])
            && ["bra", "brb", &lan.uplink, &format!("u{id}b")]
                .iter()
                .all(|l| sw(&["link", "set", l, "up"]));
        if !ok {
            return None;
        }
        for h in 0..HOSTS {
            let ns = format!("tdm{id}h{h}");
            lan.hosts.push(ns.clone());
            let (inner, outer) = (format!("e{id}h{h}"), format!("s{id}h{h}"));
            let addr = format!("10.78.0.{}/24", h + 1);
            let bridge = if h < SIDE_A { "bra" } else { "brb" };
            let ok = ip(&["netns", "add", &ns])
                && ip(&[
                    "-n", &switch, "link", "add", &outer, "type", "veth", "peer", "name", &inner,
                ])
                && ip(&["-n", &switch, "link", "set", &inner, "netns", &ns])
                && ip(&["-n", &switch, "link", "set", &outer, "master", bridge])
                && ip(&["-n", &switch, "link", "set", &outer, "up"])
                && ip(&["-n", &ns, "addr", "add", &addr, "dev", &inner])
                && ip(&["-n", &ns, "link", "set", &inner, "up"])
                && ip(&["-n", &ns, "link", "set", "lo", "up"]);
            if !ok {
                return None;
            }
            // Loss, delay with jitter, and reordering on every host's link, where netem exists.
            lan.netem = Command::new("ip")
                .args([
                    "netns", "exec", &ns, "tc", "qdisc", "add", "dev", &inner, "root", "netem",
                ])
                .args(["delay", "15ms", "10ms", "loss", "3%", "reorder", "20%", "50%"])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
        }
        Some(lan)
    }

    fn addr(h: usize) -> String {
        format!("/ip4/10.78.0.{}/tcp/0", h + 1)
    }

    /// Cuts (or restores) the only link between the two sides.
    fn partition(&self, cut: bool) {
        let state = if cut { "down" } else { "up" };
        assert!(ip(&["-n", &self.switch, "link", "set", &self.uplink, state]));
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        for ns in self.hosts.iter().chain([&self.switch]) {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

#[test]
fn five_hosts_partitioned_two_and_three_edit_on_both_sides_and_converge_after_healing() {
    let Some(lan) = Lan::new() else {
        eprintln!(
            "network namespaces are not available here (needs root and iproute2): the partition case is not checked"
        );
        return;
    };
    if !lan.netem {
        println!(
            "tc netem is not available in this kernel: links have no loss, delay or reordering, only the partition"
        );
    }
    let rounds = setting("partition_rounds", 1, 5);
    let edits_per_side = setting("partition_edits", 10, 60);
    // How long the cut lasts after the edits: long enough, in the long run, for the connections
    // across it to time out, so healing needs new ones (found again by mDNS and known addresses).
    let hold = Duration::from_secs(setting("partition_hold_secs", 0, 40));
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed("partition"));
    let panics = process_panics();
    let tmp = tempfile::tempdir().unwrap();
    let hosts: Vec<Host> = (0..HOSTS)
        .map(|h| {
            Host::new(
                tmp.path().join(format!("host{h}")),
                Some(&lan.hosts[h]),
                &format!("host{h}"),
                &Lan::addr(h),
                true,
            )
        })
        .collect();
    ok(&["init", hosts[0].dir.to_str().unwrap()]);
    std::fs::write(hosts[0].dir.join("shared.md"), "# shared\n").unwrap();
    let mut procs: Vec<Proc> = vec![hosts[0].serve()];
    for h in &hosts[1..] {
        procs.push(h.join(&invite(&hosts[0].dir)));
    }
    let all: Vec<usize> = (0..HOSTS).collect();
    let same = |which: &[usize]| {
        let first = tree(&hosts[which[0]].dir);
        which.iter().all(|&h| tree(&hosts[h].dir) == first)
    };
    wait_until_within(HEAL_BOUND, "every host joined and holds the shared file", || {
        same(&all) && tree(&hosts[4].dir).contains_key("shared.md")
    });

    let mut inputs = 0u64;
    let mut heal_times = Vec::new();
    for round in 0..rounds {
        lan.partition(true);
        let (a, b): (Vec<usize>, Vec<usize>) = all.iter().partition(|&&h| h < SIDE_A);
        let mut written: Vec<(String, String)> = Vec::new();
        for i in 0..edits_per_side {
            for side in [&a, &b] {
                let h = side[rng.gen_range(0..side.len())];
                let rel = format!("r{round}/host{h}-{i}.txt");
                let text = format!("round {round} edit {i} on host {h}\n");
                std::fs::create_dir_all(hosts[h].dir.join(format!("r{round}"))).unwrap();
                std::fs::write(hosts[h].dir.join(&rel), &text).unwrap();
                written.push((rel, text));
            }
        }
        // Both sides change the same file: a line at its top on side A, at its end on side B.
        let (ha, hb) = (a[rng.gen_range(0..a.len())], b[rng.gen_range(0..b.len())]);
        let shared = |h: usize| std::fs::read_to_string(hosts[h].dir.join("shared.md")).unwrap();
        let top = format!("side A, round {round}\n");
        let end = format!("side B, round {round}\n");
        std::fs::write(hosts[ha].dir.join("shared.md"), format!("{top}{}", shared(ha))).unwrap();
        std::fs::write(hosts[hb].dir.join("shared.md"), format!("{}{end}", shared(hb))).unwrap();
        inputs += written.len() as u64 + 2;

        // Each side converges within itself, and nothing crosses the cut. Hosts 3 and 4 know
        // each other only through mDNS (an invite carries host 0's address alone).
        let has = |h: usize, rel: &str| hosts[h].dir.join(rel).exists();
        wait_until_within(
            HEAL_BOUND,
            &format!("round {round}: each side converges on its own"),
            || {
                same(&a)
                    && same(&b)
                    && written.iter().all(|(rel, _)| {
                        let origin: usize = rel
                            .split("host")
                            .nth(1)
                            .unwrap()
                            .split('-')
                            .next()
                            .unwrap()
                            .parse()
                            .unwrap();
                        let side = if origin < SIDE_A { &a } else { &b };
                        side.iter().all(|&h| has(h, rel))
                    })
            },
        );
        assert!(
            !written.iter().any(|(rel, _)| {
                let origin: usize = rel
                    .split("host")
                    .nth(1)
                    .unwrap()
                    .split('-')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap();
                let other = if origin < SIDE_A { &b } else { &a };
                other.iter().any(|&h| has(h, rel))
            }),
            "an edit crossed the partition"
        );

        // The fault's duration, not a synchronisation: the cut simply lasts this long.
        std::thread::sleep(hold);
        lan.partition(false);
        let healed = Instant::now();
        wait_until_within(
            HEAL_BOUND,
            &format!("round {round}: all five converge after healing"),
            || {
                same(&all) && written.iter().all(|(rel, _)| has(0, rel)) && {
                    let s = shared(0);
                    s.contains(&top) && s.contains(&end)
                }
            },
        );
        let secs = healed.elapsed().as_secs_f64();
        println!("round {round}: partitioned 2/3, {} edits, healed: byte-identical on all five in {secs:.1} s (bound {HEAL_BOUND:?})", written.len() + 2);
        heal_times.push(secs);
        let got = tree(&hosts[4].dir);
        let lost = written.iter().filter(|(rel, text)| got.get(rel) != Some(text)).count();
        assert_eq!(lost, 0, "round {round}: edits lost");
    }
    let worst = heal_times.iter().cloned().fold(0.0, f64::max);
    report(
        "partition",
        rounds,
        inputs,
        0,
        (process_panics() - panics) as u64,
        &format!("netem={} worst_heal_s={worst:.1}", lan.netem),
    );
    drop(procs);
}
