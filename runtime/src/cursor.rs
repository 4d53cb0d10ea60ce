//! Running a [`SamplingSchedule`] in resumable pieces: the sampler keeps a cursor (how many
//! observations are done and how many sweeps of the current interval), [`Sampler::advance`]
//! moves it by at most a given number of sweeps or until told to stop, and checkpoints store
//! it, so a run cut anywhere continues with exactly the sweeps and observations the
//! uninterrupted run would have made.

use crate::error::RuntimeError;
use crate::observers::Observer;
use crate::sampler::Sampler;
use crate::schedule::SamplingSchedule;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// Where a running schedule is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleCursor {
    /// The schedule.
    pub schedule: SamplingSchedule,
    /// Observations made so far.
    pub observations_done: u64,
    /// Sweeps run in the current interval (the warmup, or the steps before the next
    /// observation); always below the interval's length while the schedule is running,
    /// because the observation follows its last sweep at once.
    pub sweeps_in_interval: u64,
}

/// How a call of [`Sampler::advance`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStatus {
    /// The schedule is complete.
    Finished,
    /// The sweep budget of the call is used up; the schedule goes on at the next call.
    Paused,
    /// The stop request was seen (between sweeps); the schedule goes on at the next call.
    Stopped,
}

impl ScheduleCursor {
    /// A cursor at the start of `schedule`.
    pub fn new(schedule: SamplingSchedule) -> ScheduleCursor {
        ScheduleCursor {
            schedule,
            observations_done: 0,
            sweeps_in_interval: 0,
        }
    }

    /// Length of the current interval: the warmup before the first observation, then
    /// `steps_per_sample`.
    pub fn interval(&self) -> u64 {
        if self.observations_done == 0 {
            self.schedule.warmup
        } else {
            self.schedule.steps_per_sample.max(1)
        }
    }

    /// Sweeps of the schedule run so far.
    pub fn sweeps_done(&self) -> u64 {
        if self.observations_done == 0 {
            self.sweeps_in_interval
        } else {
            self.schedule.warmup
                + (self.observations_done - 1) * self.schedule.steps_per_sample.max(1)
                + self.sweeps_in_interval
        }
    }

    /// Whether the schedule is complete (a schedule of no observations is its warmup).
    pub fn is_finished(&self) -> bool {
        if self.schedule.samples == 0 {
            self.sweeps_in_interval >= self.schedule.warmup
        } else {
            self.observations_done >= self.schedule.samples
        }
    }

    /// Checks a cursor read from elsewhere (a checkpoint): positions past the schedule are
    /// refused. Returns what is wrong.
    pub(crate) fn check(&self) -> Result<(), String> {
        let s = &self.schedule;
        if s.steps_per_sample == 0 {
            return Err("steps_per_sample is 0".into());
        }
        let total = s
            .samples
            .saturating_sub(1)
            .checked_mul(s.steps_per_sample)
            .and_then(|t| t.checked_add(s.warmup));
        if total.is_none() {
            return Err("the schedule's sweep count overflows".into());
        }
        if s.samples == 0 {
            if self.observations_done != 0 || self.sweeps_in_interval > s.warmup {
                return Err("the position lies past the end of the warmup-only schedule".into());
            }
        } else if self.observations_done > s.samples
            || (self.observations_done == s.samples && self.sweeps_in_interval != 0)
            || (self.observations_done < s.samples && self.sweeps_in_interval >= self.interval())
        {
            return Err(format!(
                "observation {} and sweep {} of its interval lie outside the schedule",
                self.observations_done, self.sweeps_in_interval
            ));
        }
        Ok(())
    }
}

/// Longest slice of sweeps between two looks at the stop request and two progress reports.
const MAX_SLICE: u64 = 1000;
/// Slices grow while they take less than this, so that small models do not pay a thread-pool
/// round trip per sweep and a stop request is still seen within about this long.
const SLICE_TARGET: Duration = Duration::from_millis(20);

impl Sampler {
    /// Starts running `schedule` in pieces (replacing any schedule in progress); the sweep
    /// counter goes on from where it is. Then call [`Sampler::advance`].
    pub fn start_schedule(&mut self, schedule: SamplingSchedule) {
        self.cursor = Some(ScheduleCursor::new(schedule));
    }

    /// The schedule in progress and where it is, if one was started (kept after it finishes,
    /// until another starts or [`Sampler::finish_schedule`]).
    pub fn schedule_cursor(&self) -> Option<&ScheduleCursor> {
        self.cursor.as_ref()
    }

    /// Forgets the schedule in progress.
    pub fn finish_schedule(&mut self) {
        self.cursor = None;
    }

    /// Runs the schedule in progress for at most `max_sweeps` sweeps, feeding `observers`
    /// and the attached observers at each observation, calling
    /// `progress(sweeps_done, total_sweeps)` of the schedule after each slice, and looking
    /// at `stop` between slices (slices grow from one sweep up to [`MAX_SLICE`] while they
    /// take under 20 ms, so a stop request is seen soon after it is made). An observation
    /// due after the last sweep of a call is made before the call returns. Slicing never
    /// changes a result: random numbers are addressed by the sweep counter.
    ///
    /// With no schedule started, returns [`RunStatus::Finished`] at once.
    pub fn advance(
        &mut self,
        max_sweeps: u64,
        observers: &mut [&mut dyn Observer],
        stop: &dyn Fn() -> bool,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<RunStatus, RuntimeError> {
        let Some(mut cursor) = self.cursor else {
            return Ok(RunStatus::Finished);
        };
        let total = cursor.schedule.total_sweeps();
        let mut budget = max_sweeps;
        let mut slice = 1u64;
        loop {
            if cursor.is_finished() {
                return Ok(RunStatus::Finished);
            }
            let interval = cursor.interval();
            if cursor.sweeps_in_interval >= interval {
                self.feed(cursor.observations_done, observers);
                cursor.observations_done += 1;
                cursor.sweeps_in_interval = 0;
                self.cursor = Some(cursor);
                continue;
            }
            if budget == 0 {
                return Ok(RunStatus::Paused);
            }
            if stop() {
                return Ok(RunStatus::Stopped);
            }
            let n = slice.min(interval - cursor.sweeps_in_interval).min(budget);
            let t = Instant::now();
            self.sweep(n)?;
            if t.elapsed() < SLICE_TARGET {
                slice = (slice * 2).min(MAX_SLICE);
            } else {
                slice = (slice / 2).max(1);
            }
            cursor.sweeps_in_interval += n;
            budget -= n;
            self.cursor = Some(cursor);
            progress(cursor.sweeps_done(), total);
        }
    }
}
