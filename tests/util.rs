//! Helpers shared by the integration tests.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// `verbatim analyze` on the shipped sample, with all its metadata columns.
pub const SAMPLE_ARGS: &[&str] = &[
    "analyze",
    "samples/comments.csv",
    "--date-column",
    "date",
    "--channel-column",
    "channel",
    "--customer-column",
    "customer",
    "--score-column",
    "score",
];

/// Path of a file in the repository.
pub fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Runs `verbatim ARGS` with `stdin`, from the repository root.
pub fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_verbatim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("verbatim binary runs");
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("verbatim finishes");
    feeder.join().expect("stdin feeder");
    // A panic exits with 101: never acceptable, whatever the input.
    assert_ne!(
        out.status.code(),
        Some(101),
        "verbatim panicked: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Parsed JSONL lines of stdout.
pub fn jsonl(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(out.stdout.clone())
        .expect("stdout is UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// The `N records read, A analysed, E errors` numbers of the summary on stderr.
pub fn summary(out: &Output) -> (u64, u64, u64) {
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err
        .lines()
        .find(|l| l.contains("records read"))
        .unwrap_or_else(|| panic!("no summary in stderr: {err}"));
    let nums: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .take(3)
        .map(|s| s.parse().unwrap())
        .collect();
    (nums[0], nums[1], nums[2])
}

/// Where the shared public datasets live, if present.
pub fn shared_data() -> Option<PathBuf> {
    let p = repo("../shared/data");
    if p.join("README.md").exists() {
        Some(p)
    } else {
        eprintln!(
            "SKIPPED: ../shared/data not found next to the repository; dataset tests need it"
        );
        None
    }
}
