//! Soak: constat and syscount under the maximum syscall rate for a while,
//! with interval reports: exact counts, flat RSS. CI runs a short soak;
//! `bench/soak` runs the full 10 minutes (CONTRACE_SOAK_SECONDS=600).

use std::time::{Duration, Instant};

use contrace_tests::*;

fn soak_seconds() -> u64 {
    std::env::var("CONTRACE_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12)
}

root_test!(soak_exact_counts_and_flat_rss, {
    let seconds = soak_seconds();
    let cg = TestCgroup::new("soak");
    let tools: Vec<(&str, Tool)> = ["constat", "syscount"]
        .into_iter()
        .map(|name| {
            (
                name,
                Tool::start(name, &["-c", &cg.arg(), "-i", "1", "--output", "json"]),
            )
        })
        .collect();
    let per_run = 200_000u64;
    let mut runs = 0u64;
    let mut samples: Vec<Vec<u64>> = vec![Vec::new(); tools.len()];
    let start = Instant::now();
    let mut next_sample = start + Duration::from_secs(2);
    while start.elapsed() < Duration::from_secs(seconds) {
        run_workload(
            Some(&cg.path),
            &["--no-wait", "getppid", &per_run.to_string()],
        );
        runs += 1;
        if Instant::now() >= next_sample {
            for (i, (_, t)) in tools.iter().enumerate() {
                samples[i].push(rss_kib(t.pid()));
            }
            next_sample += Duration::from_secs(1);
        }
    }
    for (i, (name, t)) in tools.into_iter().enumerate() {
        let done = t.stop();
        let total: u64 = done
            .json()
            .iter()
            .map(|r| u(row(r, "getppid"), "count"))
            .sum();
        assert_eq!(total, runs * per_run, "{name}: summed interval counts");
        let s = &samples[i];
        if s.len() >= 2 {
            let (min, max) = (s.iter().min().unwrap(), s.iter().max().unwrap());
            assert!(max - min < 4 * 1024, "{name}: RSS not flat: {s:?} KiB");
        }
    }
});
