//! Persistent worker threads for the shards of a batch.
//!
//! Starting a thread per window costs tens of microseconds, as much as a small
//! window's work; these workers are started once per fast `Engine`
//! and wait for work between windows (polling briefly first, see `SPIN`).
//! [`Pool::scope`] runs borrowed jobs and returns only when every job has
//! finished (also when one panics), which is what makes lending them to other
//! threads sound.
//!
//! Jobs are not tied to threads: each thread, the caller included, claims the
//! next unclaimed job until none is left. On a busy machine a worker that is
//! not running when a window starts (its core taken by another process) then
//! costs nothing: the caller runs that job itself instead of waiting for the
//! worker to be scheduled again, which can take milliseconds. What a job
//! computes does not depend on the thread that runs it.
//!
//! # Why lending borrowed jobs is sound
//!
//! A pool holds one batch at a time (its `jobs`, `next` and `left`). Were two
//! `scope` calls to overlap on one pool, from two threads or from a job
//! calling `scope` again, the second would replace the first's batch and
//! reset `left`, and the first could return, ending the borrows of its
//! closures, while a worker still ran one of them. [`Pool::scope`] therefore
//! takes `&mut self`: the borrow checker lets at most one call run on a pool
//! at a time, and a job cannot reach the pool it runs on (the pool is
//! mutably borrowed by the call that lent the job). This costs nothing at run
//! time; the two cases that would break it do not compile:
//!
//! Two threads sharing a pool (`&Pool` gives no `scope`):
//!
//! ```compile_fail,E0596
//! use charm_trainer::math::pool::Pool;
//! let pool = Pool::new(1);
//! std::thread::scope(|s| {
//!     for _ in 0..2 {
//!         let pool = &pool;
//!         s.spawn(move || pool.scope(&mut [&mut || {}]));
//!     }
//! });
//! ```
//!
//! A job that calls `scope` on the pool running it:
//!
//! ```compile_fail,E0499
//! use charm_trainer::math::pool::Pool;
//! let mut pool = Pool::new(1);
//! let mut nested = || {};
//! let mut job = || pool.scope(&mut [&mut nested]);
//! pool.scope(&mut [&mut job]);
//! ```
//!
//! while lending borrowed, mutable state is what it is for:
//!
//! ```
//! use charm_trainer::math::pool::Pool;
//! let mut pool = Pool::new(1);
//! let (mut a, mut b) = (0, 0);
//! pool.scope(&mut [&mut || a += 1, &mut || b += 2]);
//! assert_eq!((a, b), (1, 2));
//! ```

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A job lent to the pool: a type-erased pointer to a closure that outlives
/// the [`Pool::scope`] call that lent it.
#[derive(Clone, Copy)]
struct Task(*mut (dyn FnMut() + Send + 'static));

// SAFETY: the closure behind the pointer is `Send`; `Pool::scope` keeps it
// alive until every job has finished, and each job is claimed (under the
// lock) by exactly one thread.
unsafe impl Send for Task {}

/// How long a thread polls before it sleeps. Windows follow each other within
/// microseconds while training, and waking a sleeping thread costs tens of
/// microseconds (more under a hypervisor), so a worker polls for a little
/// while after each batch of jobs; an idle pool sleeps. Polling yields the
/// core between looks, so it takes no time from a thread that has work.
const SPIN: Duration = Duration::from_micros(300);

/// Polls `ready` for up to [`SPIN`]; returns whether it became true.
fn spin_until(ready: impl Fn() -> bool) -> bool {
    let start = Instant::now();
    loop {
        for _ in 0..16 {
            if ready() {
                return true;
            }
            std::hint::spin_loop();
        }
        if start.elapsed() >= SPIN {
            return ready();
        }
        std::thread::yield_now();
    }
}

/// The batch being run, under [`Shared::state`].
struct State {
    /// The lent jobs; empty between batches.
    jobs: Vec<Task>,
    /// Index of the next unclaimed job.
    next: usize,
    /// A job of this batch panicked.
    panicked: bool,
    /// Workers waiting on [`Shared::wake`].
    sleeping: usize,
    /// The pool is being dropped.
    shutdown: bool,
}

struct Shared {
    state: Mutex<State>,
    /// Workers sleep here until a new batch (or shutdown).
    wake: Condvar,
    /// The caller sleeps here until the last job of its batch has finished.
    finished: Condvar,
    /// Batches started so far (polled without the lock).
    epoch: AtomicU64,
    /// Jobs of the current batch not yet finished (polled without the lock).
    left: AtomicUsize,
    /// The caller sleeps on [`Shared::finished`]. Only then does the thread
    /// that finishes the last job take the lock and wake it: a wake is a
    /// system call, and the polling caller would wait for the lock meanwhile
    /// (measured: 3–4% of the batch-32 throughput on a busy host).
    caller_waits: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Jobs run outside the lock and their panics are caught, so the lock
        // is never poisoned by them; take it back even so.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Claims and runs jobs of the current batch until none is unclaimed.
    fn run_jobs(&self) {
        loop {
            let task = {
                let mut st = self.lock();
                let Some(&task) = st.jobs.get(st.next) else {
                    return;
                };
                st.next += 1;
                task
            };
            // SAFETY: `scope` lent this pointer to a live closure and waits
            // until `left` reaches 0 before the closure's borrow ends; no
            // other `scope` call can replace the batch or reset `left`
            // meanwhile (it takes `&mut Pool`); the claim above gave the job
            // to this thread alone.
            let ok = catch_unwind(AssertUnwindSafe(|| unsafe { (*task.0)() })).is_ok();
            if !ok {
                self.lock().panicked = true;
            }
            // Sequentially consistent with the caller's store of
            // `caller_waits` and its load of `left`: either this load sees
            // the caller waiting, or the caller sees `left` at 0 and does not
            // sleep. The caller checks `left` under the lock before it
            // sleeps, so taking the lock here means it cannot miss the wake.
            if self.left.fetch_sub(1, Ordering::SeqCst) == 1
                && self.caller_waits.load(Ordering::SeqCst)
            {
                let _st = self.lock();
                self.finished.notify_all();
            }
        }
    }

    fn worker(&self) {
        let mut seen = 0;
        loop {
            if !spin_until(|| self.epoch.load(Ordering::Acquire) != seen) {
                let mut st = self.lock();
                st.sleeping += 1;
                while self.epoch.load(Ordering::Acquire) == seen && !st.shutdown {
                    st = self.wake.wait(st).unwrap_or_else(|e| e.into_inner());
                }
                st.sleeping -= 1;
                if st.shutdown {
                    return;
                }
            }
            seen = self.epoch.load(Ordering::Acquire);
            self.run_jobs();
        }
    }
}

/// A fixed set of worker threads.
pub struct Pool {
    shared: Arc<Shared>,
    handles: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pool({} workers)", self.handles.len())
    }
}

impl Pool {
    /// Starts `n` worker threads (0 is fine: everything then runs on the caller).
    pub fn new(n: usize) -> Self {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                jobs: Vec::new(),
                next: 0,
                panicked: false,
                sleeping: 0,
                shutdown: false,
            }),
            wake: Condvar::new(),
            finished: Condvar::new(),
            epoch: AtomicU64::new(0),
            left: AtomicUsize::new(0),
            caller_waits: AtomicBool::new(false),
        });
        let handles = (0..n)
            .map(|_| {
                let shared = Arc::clone(&shared);
                std::thread::Builder::new()
                    .name("charm-shard".into())
                    .spawn(move || shared.worker())
                    .expect("cannot start a training thread")
            })
            .collect();
        Self { shared, handles }
    }

    /// Runs every job once, on the calling thread and the workers (whichever
    /// claims a job first runs it), and returns when all have finished.
    /// Panics if a job panicked, after all have finished.
    ///
    /// `&mut self` makes this call the only one on this pool until it returns
    /// (see the module docs): the batch it lends is not replaced under it.
    pub fn scope(&mut self, jobs: &mut [&mut (dyn FnMut() + Send)]) {
        let sh = &*self.shared;
        {
            let mut st = sh.lock();
            st.jobs.clear();
            st.jobs.extend(jobs.iter_mut().map(|job| {
                let ptr: *mut (dyn FnMut() + Send + '_) = &mut **job;
                // SAFETY: only the lifetime is erased; this function does not
                // return (nor unwind: job panics are caught) before `left`
                // is 0, that is before every claimed job has finished, and
                // it takes the jobs back before it returns. `&mut self`
                // keeps any other call from touching this batch meanwhile.
                let ptr: *mut (dyn FnMut() + Send + 'static) = unsafe { std::mem::transmute(ptr) };
                Task(ptr)
            }));
            st.next = 0;
            st.panicked = false;
            sh.left.store(jobs.len(), Ordering::Release);
            sh.epoch.fetch_add(1, Ordering::AcqRel);
            if st.sleeping > 0 {
                sh.wake.notify_all();
            }
        }
        sh.run_jobs();
        let done = || sh.left.load(Ordering::Acquire) == 0;
        let mut st = if spin_until(done) {
            sh.lock()
        } else {
            let mut st = sh.lock();
            sh.caller_waits.store(true, Ordering::SeqCst);
            while sh.left.load(Ordering::SeqCst) != 0 {
                st = sh.finished.wait(st).unwrap_or_else(|e| e.into_inner());
            }
            sh.caller_waits.store(false, Ordering::Relaxed);
            st
        };
        st.jobs.clear();
        assert!(!st.panicked, "a training thread panicked");
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shared.lock().shutdown = true;
        self.shared.wake.notify_all();
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_borrowed_jobs_and_reports_panics() {
        let mut pool = Pool::new(2);
        let mut out = [0u64; 3];
        for round in 0..50u64 {
            let (a, rest) = out.split_at_mut(1);
            let (b, c) = rest.split_at_mut(1);
            let mut j0 = || a[0] += round;
            let mut j1 = || b[0] += 2 * round;
            let mut j2 = || c[0] += 3 * round;
            pool.scope(&mut [&mut j0, &mut j1, &mut j2]);
        }
        let s: u64 = (0..50).sum();
        assert_eq!(out, [s, 2 * s, 3 * s]);
        let r = catch_unwind(AssertUnwindSafe(|| {
            let mut j0 = || {};
            let mut j1 = || panic!("boom");
            pool.scope(&mut [&mut j0, &mut j1]);
        }));
        assert!(r.is_err());
        // The pool still works after a panicking job, also after its
        // workers went to sleep.
        std::thread::sleep(SPIN * 3);
        let mut x = 0;
        let mut j0 = || {};
        let mut j1 = || x = 7;
        pool.scope(&mut [&mut j0, &mut j1]);
        assert_eq!(x, 7);
        // A job that outlasts the caller's polling: the caller sleeps and
        // the worker wakes it (j0 gives a worker the time to claim j1).
        let mut y = 0;
        let mut j0 = || std::thread::sleep(SPIN);
        let mut j1 = || {
            std::thread::sleep(SPIN * 4);
            y = 9;
        };
        pool.scope(&mut [&mut j0, &mut j1]);
        assert_eq!(y, 9);
    }
}
