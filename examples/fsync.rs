//! The disk's durability cost: appends 1 KB to a file and fsyncs, N times, and prints the
//! mean and percentiles in milliseconds as one JSON line. With one fsync per commit, durable
//! ingest cannot beat `concurrency ÷ fsync time` requests a second.
//!
//! ```sh
//! cargo run --release --example fsync -- /path/on/the/data/disk 200
//! ```

use std::io::Write;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| ".".to_owned());
    let n: usize = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let path = std::path::Path::new(&dir).join(format!("fsync-probe-{}.bin", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)?;
    let block = [0x5au8; 1024];
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        file.write_all(&block)?;
        file.sync_data()?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    drop(file);
    std::fs::remove_file(&path)?;
    times.sort_by(f64::total_cmp);
    let mean = times.iter().sum::<f64>() / times.len().max(1) as f64;
    let pct = |p: f64| times[((times.len() as f64 - 1.0) * p).round() as usize];
    println!(
        r#"{{"n":{n},"mean_ms":{mean:.3},"p50_ms":{:.3},"p99_ms":{:.3}}}"#,
        pct(0.5),
        pct(0.99)
    );
    Ok(())
}
