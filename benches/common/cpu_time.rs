//! A criterion [`Measurement`] of the CPU time of the whole process (all threads), in
//! nanoseconds, from `/proc/self/task/*/schedstat` (Linux). On a machine shared with other
//! work, wall time stretches with the load while CPU time stays close to the work done, so
//! the benches can report both: `BENCH_CLOCK=wall` (default), `cpu` or `both`.
//!
//! For a benchmark that runs on one thread, CPU time per iteration is the time the iteration
//! would take on an idle core (cache sharing aside); for a multi-threaded one it is the sum
//! over threads, so elements per CPU-nanosecond measure per-core efficiency, as the THRML
//! scripts' "updates per CPU-second" do.

use criterion::measurement::{Measurement, ValueFormatter, WallTime};

/// Process CPU time (user + system of every thread), in nanoseconds.
pub struct ProcessCpuTime;

/// Sum of the on-CPU nanoseconds of every live thread of this process.
fn process_cpu_ns() -> u64 {
    let tasks = std::fs::read_dir("/proc/self/task").expect("/proc/self/task (Linux only)");
    tasks
        .filter_map(|t| {
            // A thread may exit between listing and reading; skip it.
            let stat = std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok()?;
            stat.split_whitespace().next()?.parse::<u64>().ok()
        })
        .sum()
}

/// Runs `benches` with the clock `BENCH_CLOCK` selects: wall time (unset or `wall`), process
/// CPU time (`cpu`, group names prefixed `cpu/`) or both, wall first (`both`).
pub fn run_with_selected_clock(
    wall: impl FnOnce(&mut criterion::Criterion<WallTime>, &str),
    cpu: impl FnOnce(&mut criterion::Criterion<ProcessCpuTime>, &str),
) {
    let clock = std::env::var("BENCH_CLOCK").unwrap_or_else(|_| "wall".to_string());
    if clock == "wall" || clock == "both" {
        let mut c = criterion::Criterion::default().configure_from_args();
        wall(&mut c, "");
        c.final_summary();
    }
    if clock == "cpu" || clock == "both" {
        let mut c = criterion::Criterion::default()
            .with_measurement(ProcessCpuTime)
            .configure_from_args();
        cpu(&mut c, "cpu/");
        c.final_summary();
    }
    if !matches!(clock.as_str(), "wall" | "cpu" | "both") {
        panic!("BENCH_CLOCK={clock}: expected wall, cpu or both");
    }
}

impl Measurement for ProcessCpuTime {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        process_cpu_ns()
    }

    fn end(&self, start: u64) -> u64 {
        process_cpu_ns().saturating_sub(start)
    }

    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }

    fn zero(&self) -> u64 {
        0
    }

    fn to_f64(&self, value: &u64) -> f64 {
        *value as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        // Values are nanoseconds, as wall time's are: reuse its formatter.
        static WALL: WallTime = WallTime;
        WALL.formatter()
    }
}
