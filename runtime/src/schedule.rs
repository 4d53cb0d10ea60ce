//! THRML's sampling schedule.

use serde::{Deserialize, Serialize};

/// How long to run and when to observe, with THRML's convention: `warmup` sweeps, then an
/// observation, then `samples − 1` times `steps_per_sample` sweeps each followed by an
/// observation — `warmup + (samples − 1) · steps_per_sample` sweeps in all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamplingSchedule {
    /// Sweeps before the first observation.
    pub warmup: u64,
    /// Number of observations.
    pub samples: u64,
    /// Sweeps between consecutive observations (at least 1).
    pub steps_per_sample: u64,
}

impl SamplingSchedule {
    /// A schedule; `steps_per_sample` is raised to 1 if given as 0.
    pub fn new(warmup: u64, samples: u64, steps_per_sample: u64) -> SamplingSchedule {
        SamplingSchedule {
            warmup,
            samples,
            steps_per_sample: steps_per_sample.max(1),
        }
    }

    /// Total number of sweeps the schedule runs.
    pub fn total_sweeps(&self) -> u64 {
        self.warmup + self.samples.saturating_sub(1) * self.steps_per_sample.max(1)
    }

    /// Sweeps to run before each observation: `warmup`, then `steps_per_sample` repeatedly.
    pub fn intervals(&self) -> impl Iterator<Item = u64> + '_ {
        (0..self.samples).map(|i| {
            if i == 0 {
                self.warmup
            } else {
                self.steps_per_sample.max(1)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_thrml_convention() {
        let s = SamplingSchedule::new(100, 10, 3);
        assert_eq!(s.total_sweeps(), 100 + 9 * 3);
        assert_eq!(s.intervals().sum::<u64>(), s.total_sweeps());
        assert_eq!(s.intervals().collect::<Vec<_>>()[..3], [100, 3, 3]);
        assert_eq!(SamplingSchedule::new(5, 0, 1).total_sweeps(), 5);
    }
}
