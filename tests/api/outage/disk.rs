//! SQLite's disk fills up under a steady signed load, then space returns; the service (the real
//! binary) runs throughout. SQLite pass only.
//!
//! How the disk fills, by what the machine permits:
//! - as root where `mount` works (CI's fresh machine): the database lives on a 64 MB tmpfs
//!   mounted for the test, which a filler file then fills to the last byte (a real ENOSPC;
//!   space returns when the filler is deleted);
//! - otherwise (no root, or a container without the right to mount): the service's file size
//!   limit (RLIMIT_FSIZE) is set to 0 with `prlimit` while it runs, and back to unlimited
//!   after; it starts with SIGXFSZ ignored, so every write to a file fails with EFBIG instead
//!   of killing it.
//!
//! `TEST_DISK_FAULT=file-size-limit` takes the fallback where mounting works. Without
//! either the test is skipped loudly (it fails in CI). A read-only file system cannot
//! be made while the service holds the database open for writing (the kernel refuses the
//! remount with EBUSY), so "read-only" is covered by the classification's unit test
//! (`store::error`), not here.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use sqlx::Connection as _;

use super::postgres::{simulator, skip_or_fail, wait_for};
use super::*;
use crate::helpers::{Backend, Options, backend, spawn_binary_via};

/// How the test takes the disk away.
enum Fault {
    /// A tmpfs mounted at the path, filled by the filler file.
    Tmpfs { mount: PathBuf, filler: PathBuf },
    /// The service's file size limit (`prlimit --pid`), set once its pid is known.
    FileSizeLimit,
}

impl Fault {
    /// Mounts a 64 MB tmpfs at `at` if this process may, else falls back to a file size
    /// limit if `prlimit` is there; `Err` says why neither works.
    fn choose(at: &Path) -> Result<Fault, String> {
        std::fs::create_dir_all(at).map_err(|e| e.to_string())?;
        // `TEST_DISK_FAULT=file-size-limit` tries the fallback where mounting works.
        let forced = std::env::var("TEST_DISK_FAULT").is_ok_and(|v| v == "file-size-limit");
        let mounted = !forced
            && Command::new("mount")
                .args(["-t", "tmpfs", "-o", "size=64m,mode=0700", "tmpfs"])
                .arg(at)
                .output()
                .is_ok_and(|o| o.status.success());
        if mounted {
            return Ok(Fault::Tmpfs {
                mount: at.to_owned(),
                filler: at.join("filler"),
            });
        }
        let prlimit = Command::new("prlimit")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if prlimit {
            Ok(Fault::FileSizeLimit)
        } else {
            Err("cannot mount a tmpfs (not root, or not permitted) and no `prlimit`".into())
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Fault::Tmpfs { .. } => "a full tmpfs (ENOSPC)",
            Fault::FileSizeLimit => "a file size limit of 0 (EFBIG)",
        }
    }

    /// Takes the space away from the service `pid`.
    fn fill(&self, pid: u32) {
        match self {
            Fault::Tmpfs { filler, .. } => {
                use std::io::Write as _;
                let mut f = std::fs::File::create(filler).expect("filler");
                let chunk = vec![0u8; 1 << 20];
                // Up to the last byte: a write fails with ENOSPC, possibly after a short one.
                while f.write_all(&chunk).is_ok() {}
                while f.write_all(&chunk[..4096]).is_ok() {}
                while f.write_all(&chunk[..1]).is_ok() {}
            }
            Fault::FileSizeLimit => prlimit(pid, "0:"),
        }
    }

    /// Gives the space back.
    fn free(&self, pid: u32) {
        match self {
            Fault::Tmpfs { filler, .. } => std::fs::remove_file(filler).expect("remove filler"),
            Fault::FileSizeLimit => prlimit(pid, "unlimited:"),
        }
    }
}

impl Drop for Fault {
    fn drop(&mut self) {
        if let Fault::Tmpfs { mount, .. } = self {
            let _ = Command::new("umount").arg("-l").arg(&*mount).status();
        }
    }
}

/// Sets the soft file size limit of `pid` (`0:` or `unlimited:`).
fn prlimit(pid: u32, soft: &str) {
    let status = Command::new("prlimit")
        .args(["--pid", &pid.to_string(), &format!("--fsize={soft}")])
        .status()
        .expect("run prlimit");
    assert!(status.success(), "prlimit --fsize={soft} failed");
}

/// `PRAGMA integrity_check` of the database file, on a connection of its own.
async fn integrity(db: &Path) -> String {
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("open the database");
    let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await
        .expect("integrity_check");
    let _ = conn.close().await;
    rows.join("; ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_on_a_full_disk_answers_503_and_recovers_when_space_returns() {
    const TEST: &str = "outage::disk";
    if backend() != Backend::Sqlite {
        eprintln!("SQLite only: runs in the SQLite pass");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let fault = match Fault::choose(&dir.path().join("disk")) {
        Ok(f) => f,
        Err(why) => return skip_or_fail(TEST, &why),
    };
    let db = dir.path().join("disk").join("dgs.db");
    let (sim, sim_addr) = simulator(150).await;
    let options = Options {
        store_url: Some(format!("sqlite://{}", db.display())),
        users: (0..USERS).map(email).collect(),
        worker_concurrency: 4,
        ..Options::default()
    };
    let log = dir.path().join("service.log");
    let launcher = ["sh", "-c", r#"trap '' XFSZ; exec "$0" "$@""#];
    let mut bin = spawn_binary_via(
        &launcher,
        dir.path(),
        sim_addr,
        &options,
        "",
        "warn",
        Some(log.clone()),
    )
    .await;
    let pid = bin.child.id();
    let source = bin.source("sw");
    // The test reads through a store of its own (reads work on a full disk).
    let store = own_store(&bin, format!("sqlite://{}", db.display())).await;

    let mut load = Load::start(&bin.base, &source, 4, Duration::from_millis(150));
    let (ready_stop, readiness) = poll_readiness(&bin.base);
    wait_for(
        "events to be acknowledged",
        Duration::from_secs(30),
        async || load.acked_count() >= 40,
    )
    .await;
    wait_for("a job in flight", Duration::from_secs(30), async || {
        store.count_events("running").await.unwrap_or(0) > 0
    })
    .await;
    fault.fill(pid);
    let filled = Instant::now();
    // The first refusal: from then on nothing can be committed.
    wait_for("a 503", Duration::from_secs(20), async || {
        load.answers
            .lock()
            .expect("lock")
            .iter()
            .any(|a| a.status == 503 && a.got >= filled)
    })
    .await;
    let from = Instant::now();
    tokio::time::sleep(Duration::from_secs(8)).await;
    let until = Instant::now();
    let acked_until = load.acked_count();
    fault.free(pid);
    wait_for(
        "events acknowledged again",
        Duration::from_secs(60),
        async || load.acked_count() >= acked_until + 40,
    )
    .await;
    load.stop().await;
    wait_drained(&store, Duration::from_secs(90)).await;
    ready_stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let seen = readiness.await.expect("readiness poller");

    assert!(
        matches!(bin.child.try_wait(), Ok(None)),
        "the service stopped: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let answers = load.answers.lock().expect("lock").clone();
    // A commit that still fits (SQLite reuses its log's pages) is acknowledged: the check is
    // that none is acknowledged without its commit (`check_outcome`), not that none is.
    let (refused, accepted) = check_answers(&answers, from, until, false);
    assert!(
        refused > 0,
        "no request was refused while the disk was full"
    );
    check_readiness(&seen, from, until, false);
    let stored = stored(&store).await;
    let sent = load.sent.lock().expect("lock").clone();
    let acked = load.acked.lock().expect("lock").clone();
    check_outcome(&stored, &sent, &acked, &sim.snapshot());
    let ingest = metric(
        &bin.base,
        r#"dgs_store_unavailable_total{component="ingest"}"#,
    )
    .await;
    let resumed = metric(&bin.base, "dgs_job_resumes_total").await;
    assert!(ingest > 0.0, "ingest failures counted");
    assert!(resumed >= 1.0, "the job in flight was not taken back");
    let running = integrity(&db).await;
    // Killed without a drain, the file must still be sound.
    let _ = bin.child.kill();
    let _ = bin.child.wait();
    store.close().await;
    let after_kill = integrity(&db).await;
    assert_eq!(running, "ok", "integrity_check while running");
    assert_eq!(after_kill, "ok", "integrity_check after SIGKILL");
    let service_log = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!service_log.contains("panicked"), "{service_log}");
    eprintln!(
        "outage (SQLite, {}): {:.1} s without space under load; {} events sent, {} acknowledged, \
         {refused} requests answered 503 meanwhile ({accepted} 2xx whose commit still fitted), readiness 503 × {}; {resumed} jobs taken back; \
         all {} stored events done with 1 attempt each; integrity_check ok (running and after SIGKILL)",
        fault.name(),
        (until - filled).as_secs_f64(),
        sent.len(),
        acked.len(),
        seen.iter().filter(|r| r.status == 503).count(),
        stored.len(),
    );
}
