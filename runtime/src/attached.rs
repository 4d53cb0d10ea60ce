//! Observers attached to a sampler: fed at every observation of a schedule run and after
//! every [`Sampler::step`], polled between calls, detached when no longer wanted, and saved
//! in checkpoints. A simulator that owns the loop attaches what it wants recorded once and
//! then only steps.

use crate::checkpoint::{CheckpointError, ObserverState};
use crate::error::RuntimeError;
use crate::observers::{Observer, StateView};
use crate::sampler::Sampler;
use std::any::Any;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};

/// Names one observer attached to one sampler, and its type, so that polling it needs no
/// downcast by the caller. Handles are unique within the process: a handle of one sampler
/// finds nothing in another.
pub struct ObserverHandle<T> {
    id: u64,
    _type: PhantomData<fn() -> T>,
}

impl<T> Clone for ObserverHandle<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for ObserverHandle<T> {}

impl<T> std::fmt::Debug for ObserverHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ObserverHandle({})", self.id)
    }
}

/// Source of handle ids, shared by every sampler of the process.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// An observer whose concrete type can be recovered.
pub(crate) trait AttachedObserver: Observer {
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

impl<T: Observer + 'static> AttachedObserver for T {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// The attached observers of a sampler, in attach order (the order they are fed in and
/// saved in), and the saved states a resumed sampler still has to hand out.
#[derive(Default)]
pub(crate) struct Attached {
    /// Methods of [`AttachedObserver`] must be called on the `dyn` value (`(*boxed)`), not
    /// on the box, which is itself an observer and would name its own type.
    pub(crate) list: Vec<(u64, Box<dyn AttachedObserver>)>,
    /// States read from a checkpoint, restored in order by [`Sampler::attach_restored`].
    pub(crate) pending: Vec<ObserverState>,
    /// How many of `pending` have been handed out.
    pub(crate) restored: usize,
}

impl Attached {
    /// Feeds every attached observer `view`.
    pub(crate) fn feed(&mut self, view: &StateView<'_>) {
        for (_, obs) in &mut self.list {
            obs.observe(view);
        }
    }
}

impl Sampler {
    /// Attaches `observer`: from now on it sees every observation of [`Sampler::run`] and
    /// [`Sampler::advance`] (after the observers passed to them) and one after every
    /// [`Sampler::step`], and [`Sampler::checkpoint`] saves its accumulators. Returns the
    /// handle to poll or detach it with. A `Box<dyn Observer>` can be attached too.
    pub fn attach<T: Observer + 'static>(&mut self, observer: T) -> ObserverHandle<T> {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        self.attached.list.push((id, Box::new(observer)));
        ObserverHandle {
            id,
            _type: PhantomData,
        }
    }

    /// After [`Sampler::resume`]: restores the next observer state saved in the checkpoint
    /// (in the order the observers were attached when it was written) into `observer`, a
    /// freshly built observer of the same kind and configuration, and attaches it. On error
    /// (no saved state left, another kind, other nodes or observables) nothing is attached.
    pub fn attach_restored<T: Observer + 'static>(
        &mut self,
        mut observer: T,
    ) -> Result<ObserverHandle<T>, CheckpointError> {
        let index = self.attached.restored;
        let state = self
            .attached
            .pending
            .get(index)
            .ok_or(CheckpointError::NoSavedObserver {
                index,
                saved: self.attached.pending.len(),
            })?;
        observer
            .restore_state(state)
            .map_err(|source| CheckpointError::ObserverRestore {
                index,
                kind: state.kind.clone(),
                source,
            })?;
        self.attached.restored += 1;
        Ok(self.attach(observer))
    }

    /// Observer states read from the checkpoint this sampler resumed from that
    /// [`Sampler::attach_restored`] has not handed out yet (their kinds tell what to build).
    pub fn saved_observers(&self) -> &[ObserverState] {
        &self.attached.pending[self.attached.restored.min(self.attached.pending.len())..]
    }

    /// Detaches an observer and gives it back (`None` if the handle is not attached here).
    pub fn detach<T: Observer + 'static>(&mut self, handle: ObserverHandle<T>) -> Option<T> {
        let at = self.position(handle.id)?;
        if !(*self.attached.list[at].1).as_any().is::<T>() {
            return None;
        }
        let (_, obs) = self.attached.list.remove(at);
        obs.into_any().downcast::<T>().ok().map(|b| *b)
    }

    /// The attached observer behind `handle`, to read its accumulators between calls.
    pub fn observer<T: Observer + 'static>(&self, handle: &ObserverHandle<T>) -> Option<&T> {
        let at = self.position(handle.id)?;
        (*self.attached.list[at].1).as_any().downcast_ref::<T>()
    }

    /// The attached observer behind `handle`, mutably (e.g. to clear what it recorded).
    pub fn observer_mut<T: Observer + 'static>(
        &mut self,
        handle: &ObserverHandle<T>,
    ) -> Option<&mut T> {
        let at = self.position(handle.id)?;
        (*self.attached.list[at].1).as_any_mut().downcast_mut::<T>()
    }

    /// Number of attached observers.
    pub fn attached_count(&self) -> usize {
        self.attached.list.len()
    }

    fn position(&self, id: u64) -> Option<usize> {
        self.attached.list.iter().position(|(i, _)| *i == id)
    }

    /// Runs `n` sweeps, then feeds every attached observer the state once. Its observation
    /// index ([`StateView::sample_index`]) counts the steps observed so far (saved in
    /// checkpoints).
    pub fn step(&mut self, n: u64) -> Result<(), RuntimeError> {
        self.sweep(n)?;
        let sample = self.steps_observed;
        self.feed(sample, &mut []);
        self.steps_observed += 1;
        Ok(())
    }

    /// Feeds `observers` and then the attached observers the current state, with
    /// observation index `sample`, in the sampler's thread pool.
    pub(crate) fn feed(&mut self, sample: u64, observers: &mut [&mut dyn Observer]) {
        let view = StateView {
            state: &self.state,
            program: self.backend.program(),
            model: &self.model,
            sample,
        };
        let attached = &mut self.attached;
        self.pool.install(|| {
            for obs in observers.iter_mut() {
                obs.observe(&view);
            }
            attached.feed(&view);
        });
    }
}
