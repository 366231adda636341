//! Settings (short for CI, long for the script) and the one-line report of each scenario.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

/// Whether the long settings were asked for (`TANDEM_MATRIX=long`).
pub fn long() -> bool {
    std::env::var("TANDEM_MATRIX").is_ok_and(|v| v == "long")
}

/// `short` in CI, `long` in the script; `TANDEM_MATRIX_<NAME>` overrides either.
pub fn setting(name: &str, short: u64, long_value: u64) -> u64 {
    std::env::var(format!("TANDEM_MATRIX_{}", name.to_uppercase()))
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if long() { long_value } else { short })
}

/// A seed for this run (`TANDEM_SEED` replays one), printed so a failure can be replayed.
pub fn seed(scenario: &str) -> u64 {
    let seed = std::env::var("TANDEM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("{scenario}: seed {seed} (replay with TANDEM_SEED={seed})");
    seed
}

static ENGINE_PANICS: AtomicUsize = AtomicUsize::new(0);
static HOOK: Once = Once::new();

/// Counts panics on the engine's own threads (its core, watcher, writer and tokio workers), not
/// the test's assertion failures; the default hook still prints them.
pub fn count_engine_panics() {
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current();
            let name = thread.name().unwrap_or("");
            // libtest names a test's thread after the test (`module::test_name`).
            if !name.contains("::") && name != "main" {
                ENGINE_PANICS.fetch_add(1, Ordering::SeqCst);
            }
            default(info);
        }));
    });
}

/// Engine panics seen in this test process so far.
pub fn engine_panics() -> usize {
    ENGINE_PANICS.load(Ordering::SeqCst)
}

/// Prints the scenario's machine-readable line, then fails the test if anything was lost or
/// anything panicked (the line comes first so the script's table shows the failure too).
pub fn report(scenario: &str, faults: u64, inputs: u64, lost: u64, panics: u64, extra: &str) {
    let extra = if extra.is_empty() {
        String::new()
    } else {
        format!(" {extra}")
    };
    println!("MATRIX scenario={scenario} faults={faults} inputs={inputs} lost={lost} panics={panics}{extra}");
    assert_eq!(lost, 0, "{scenario}: {lost} edits lost");
    assert_eq!(panics, 0, "{scenario}: {panics} panics");
}
