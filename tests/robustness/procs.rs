//! Real `tandem` processes: spawned (optionally inside a network namespace), their log kept and
//! scanned for panics, their control socket called, killed with SIGKILL on demand or on drop.

use crate::common::DEADLINE;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tandem::control::Request;

/// Panics printed by any `tandem` process this test process started.
static PROCESS_PANICS: AtomicUsize = AtomicUsize::new(0);

/// Panics seen in the logs of the processes started so far.
pub fn process_panics() -> usize {
    PROCESS_PANICS.load(Ordering::SeqCst)
}

/// A running `tandem` process; killed (SIGKILL) when dropped.
pub struct Proc {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl Proc {
    /// Kills the process at once (SIGKILL: no shutdown, no flush) and reaps it.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether a log line so far contains `needle`.
    pub fn logged(&self, needle: &str) -> bool {
        self.log.lock().unwrap().iter().any(|l| l.contains(needle))
    }

    /// Read system calls made so far by the process's threads named `thread` (Linux).
    pub fn reads_by(&self, thread: &str) -> u64 {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{}/task", self.child.id())) else {
            return 0;
        };
        tasks
            .flatten()
            .filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == thread))
            .filter_map(|t| std::fs::read_to_string(t.path().join("io")).ok())
            .filter_map(|io| {
                io.lines()
                    .find_map(|l| l.strip_prefix("syscr:"))
                    .and_then(|v| v.trim().parse::<u64>().ok())
            })
            .sum()
    }

    /// How many log lines so far contain `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.log.lock().unwrap().iter().filter(|l| l.contains(needle)).count()
    }

    /// The last `n` log lines, for a failure message.
    pub fn tail(&self, n: usize) -> String {
        let log = self.log.lock().unwrap();
        log[log.len().saturating_sub(n)..].join("\n")
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `tandem ARGS`, inside network namespace `ns` if given.
pub fn spawn(ns: Option<&str>, args: &[&str]) -> Proc {
    let mut cmd = match ns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns, env!("CARGO_BIN_EXE_tandem")]);
            c
        }
        None => Command::new(env!("CARGO_BIN_EXE_tandem")),
    };
    let mut child = cmd
        .args(args)
        .env(
            "RUST_LOG",
            std::env::var("TANDEM_CHILD_RUST_LOG").unwrap_or_else(|_| "tandem=info".into()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let stderr = child.stderr.take().unwrap();
    let keep = log.clone();
    // With TANDEM_CHILD_LOGS=DIR, every line is also kept in DIR/<pid>.log for a failing run.
    let mut file = std::env::var_os("TANDEM_CHILD_LOGS")
        .and_then(|d| std::fs::File::create(Path::new(&d).join(format!("{}.log", child.id()))).ok());
    // Drain stderr so the child never blocks on a full pipe, counting panics as they appear.
    std::thread::spawn(move || {
        for l in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(f) = &mut file {
                use std::io::Write;
                let _ = writeln!(f, "{l}");
            }
            if l.contains("panicked at") {
                PROCESS_PANICS.fetch_add(1, Ordering::SeqCst);
                eprintln!("tandem process panicked: {l}");
            }
            let mut log = keep.lock().unwrap();
            if log.len() > 5000 {
                log.drain(..1000);
            }
            log.push(l);
        }
    });
    Proc { child, log }
}

/// Runs `tandem ARGS` to completion and returns its stdout, failing the test if it fails.
pub fn ok(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_tandem")).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "tandem {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Polls `cond` until it holds, failing with `what` after `deadline`.
pub fn wait_until_within(deadline: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < deadline,
            "timed out after {deadline:?} waiting for: {what}"
        );
        // Another process's state can only be polled: look again shortly.
        std::thread::park_timeout(Duration::from_millis(25));
    }
}

/// Like [`wait_until_within`], adding what `explain` says to the failure.
pub fn wait_until_or(deadline: Duration, what: &str, mut cond: impl FnMut() -> bool, explain: impl FnOnce() -> String) {
    let start = Instant::now();
    while !cond() {
        if start.elapsed() > deadline {
            panic!("timed out after {deadline:?} waiting for: {what}\n{}", explain());
        }
        std::thread::park_timeout(Duration::from_millis(25));
    }
}

/// Polls `cond` until it holds, failing with `what` after the default deadline.
pub fn wait_until(what: &str, cond: impl FnMut() -> bool) {
    wait_until_within(DEADLINE, what, cond)
}

/// One request to the peer serving `dir`, over its control socket.
pub fn call(dir: &Path, req: &Request) -> Result<serde_json::Value, String> {
    thread_local! {
        static RT: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
    }
    let socket = dir.join(".tandem/control.sock");
    RT.with(|rt| {
        rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(10), tandem::control::call(dir, &socket, req))
                .await
                .map_err(|_| "the control call timed out".to_string())?
                .map_err(|e| e.to_string())
        })
    })
}

/// Whether a peer answers on `dir`'s control socket.
pub fn answers(dir: &Path) -> bool {
    call(dir, &Request::Status).is_ok()
}

/// Replaces a file's text; Ok once the peer acknowledged it (stored).
pub fn set_text(dir: &Path, path: &str, text: &str) -> Result<(), String> {
    call(
        dir,
        &Request::SetText {
            path: path.into(),
            text: text.into(),
        },
    )
    .map(|_| ())
}

/// A file's text as the peer holds it.
pub fn get_text(dir: &Path, path: &str) -> Result<Option<String>, String> {
    call(dir, &Request::GetText { path: path.into() }).map(|v| v.as_str().map(str::to_string))
}

/// An editor invite code from the peer serving `dir`.
pub fn invite(dir: &Path) -> String {
    ok(&["invite", dir.to_str().unwrap()]).trim().to_string()
}

/// A workspace folder and the arguments it is served with.
pub struct Host {
    /// The workspace folder.
    pub dir: PathBuf,
    /// Network namespace, if any.
    pub ns: Option<String>,
    /// `--name ... --listen ...` and the rest, shared by `serve` and `join`.
    pub args: Vec<String>,
}

impl Host {
    /// A peer named `name` in `dir`, listening on `listen`, mDNS on or off.
    pub fn new(dir: PathBuf, ns: Option<&str>, name: &str, listen: &str, mdns: bool) -> Host {
        let mut args: Vec<String> = ["--name", name, "--listen", listen, "--no-review-agent"]
            .map(String::from)
            .to_vec();
        if !mdns {
            args.push("--no-mdns".into());
        }
        Host {
            dir,
            ns: ns.map(String::from),
            args,
        }
    }

    fn run(&self, first: &[&str]) -> Proc {
        let mut all: Vec<&str> = first.to_vec();
        all.push(self.dir.to_str().unwrap());
        all.extend(self.args.iter().map(String::as_str));
        let p = spawn(self.ns.as_deref(), &all);
        wait_until(&format!("{} answers: {}", self.dir.display(), p.tail(5)), || {
            answers(&self.dir)
        });
        p
    }

    /// `tandem serve`, once its control socket answers.
    pub fn serve(&self) -> Proc {
        self.run(&["serve"])
    }

    /// `tandem join CODE`, once joined (its control socket answers).
    pub fn join(&self, code: &str) -> Proc {
        self.run(&["join", code])
    }
}
