//! `pathway replay --nats` streams a large stream in bounded memory, as the
//! file log does: its peak RSS stays under 128 MiB whatever the stream's
//! size. The stream holds `PATHWAY_NATS_REPLAY_MB` MB (default 64, so the
//! test suite stays quick; the figure in docs/measured.md is from 1024).

use crate::support as nats_support;

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use nats_support::{Server, open_with};
use pathway_host::Options;

/// The process's peak resident set (VmHWM) in KiB, while it runs.
fn peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn replay_of_a_large_stream_stays_under_128_mib() {
    let mb: u64 = std::env::var("PATHWAY_NATS_REPLAY_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let server = Server::single("memory");
    let url = server.url();
    let options = Options {
        max_line: Some(1 << 20),
        ..Options::default()
    };
    let mut log = open_with(&url, "big", 1, options);
    // About 1 KiB per event, different for each.
    let batch: Vec<String> = (0..1000)
        .map(|i| format!(r#"{{"i":{i},"pad":"{}"}}"#, "x".repeat(1000)))
        .collect();
    let per_batch: u64 = batch.iter().map(|e| e.len() as u64 + 1).sum();
    let batches = (mb << 20).div_ceil(per_batch);
    for _ in 0..batches {
        log.append_batch(&batch).unwrap();
    }

    let mut child = Command::new(crate::common::pathway_bin())
        .args(["replay", "--nats", &url, "--stream", "big"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let pid = child.id();
    let done = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    // VmHWM only grows; a sample every few ms while the replay runs sees
    // its plateau (the replay's memory is the same page after page).
    let sampler = {
        let (done, peak) = (done.clone(), peak.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                if let Some(kib) = peak_kib(pid) {
                    peak.fetch_max(kib, Ordering::SeqCst);
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        })
    };
    let mut out = child.stdout.take().unwrap();
    let (mut bytes, mut buf) = (0u64, vec![0u8; 1 << 16]);
    loop {
        let n = out.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        bytes += n as u64;
    }
    let status = child.wait().unwrap();
    done.store(true, Ordering::SeqCst);
    sampler.join().unwrap();
    assert!(status.success());
    assert_eq!(bytes, batches * per_batch, "every record replayed");
    let peak_mib = peak.load(Ordering::SeqCst) / 1024;
    eprintln!("replayed {bytes} bytes ({mb} MB asked) with a peak RSS of {peak_mib} MiB");
    assert!(peak_mib > 0, "no sample of the replay's memory");
    assert!(peak_mib < 128, "peak RSS {peak_mib} MiB");
}
