//! Checkpoints under abuse: `kill -9` at random moments leaves the old or the
//! new files, never a broken one; Ctrl-C (SIGINT) writes a checkpoint that resumes.

mod cli_support;

use charm_trainer::training::TrainState;
use cli_support::{cmd, ok, small_text, write, TINY};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The model and state at `dir/m.*` are each absent or whole.
fn whole_or_absent(dir: &std::path::Path) -> Option<u64> {
    let state = std::fs::read(dir.join("m.state"))
        .ok()
        .map(|b| TrainState::from_bytes(&b).expect("a whole state file"));
    let model = std::fs::read(dir.join("m.charm")).ok().map(|b| {
        let bytes = charm_core::AlignedBytes::from(&b[..]);
        charm_core::decode(&bytes)
            .expect("a whole model file")
            .meta
            .steps
    });
    if let (Some(s), Some(m)) = (&state, model) {
        // The state is renamed first, so it is never older than the model.
        assert!(
            s.step >= m,
            "state at step {} is older than model at step {m}",
            s.step
        );
    }
    state.map(|s| s.step)
}

#[test]
fn cli_kill_9_at_random_moments_leaves_whole_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "small.txt", small_text());
    // A checkpoint after every step, so kills land during writes; each round
    // starts over (--force) from whatever is there.
    let mut args = vec![
        "train",
        "--data",
        "small.txt",
        "--out",
        "m.charm",
        "--force",
        "--steps",
        "1000000",
        "--checkpoint-every",
        "0",
    ];
    args.extend_from_slice(TINY);
    let mut seen = Vec::new();
    let mut rng = charm_core::Rng::new(42);
    for round in 0..6 {
        let mut child = cmd(d, &args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let wait = Duration::from_millis(100 + rng.next_u64() % 700);
        std::thread::sleep(wait);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let step = whole_or_absent(d);
        seen.push(step);
        // Resuming from whatever is there works too (on alternate rounds).
        if round % 2 == 1 {
            if let Some(s) = step {
                let target = (s + 3).to_string();
                let mut r = vec![
                    "train",
                    "--data",
                    "small.txt",
                    "--out",
                    "m.charm",
                    "--resume",
                    "m.state",
                    "--steps",
                    &target,
                    "--checkpoint-every",
                    "0",
                ];
                r.extend_from_slice(TINY);
                ok(d, &r);
                assert_eq!(whole_or_absent(d), Some(s + 3));
            }
        }
    }
    assert!(
        seen.iter().any(|s| s.is_some()),
        "no checkpoint was ever written: {seen:?}"
    );
}

#[cfg(unix)]
#[test]
fn cli_ctrl_c_writes_a_checkpoint_that_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "small.txt", small_text());
    let mut args = vec![
        "train",
        "--data",
        "small.txt",
        "--out",
        "m.charm",
        "--steps",
        "1000000",
    ];
    args.extend_from_slice(TINY);
    let child = cmd(d, &args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until training runs, then SIGINT.
    let start = Instant::now();
    std::thread::sleep(Duration::from_millis(700));
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted at step") && stderr.contains("--resume m.state"),
        "{stderr}"
    );
    assert!(start.elapsed() < Duration::from_secs(30));
    let step = whole_or_absent(d).expect("a checkpoint on Ctrl-C");
    assert!(step > 0);
    let target = (step + 5).to_string();
    let mut r = vec![
        "train",
        "--data",
        "small.txt",
        "--out",
        "m.charm",
        "--resume",
        "m.state",
        "--steps",
        &target,
    ];
    r.extend_from_slice(TINY);
    ok(d, &r);
    assert_eq!(whole_or_absent(d), Some(step + 5));
}
