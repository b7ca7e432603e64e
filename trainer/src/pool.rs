//! Persistent worker threads for the shards of a batch.
//!
//! Starting a thread per window costs tens of microseconds, as much as a small
//! window's work; these workers are started once per [`crate::fast::Engine`]
//! and wait on a channel between windows (polling it briefly first, see [`SPIN`]). [`Pool::scope`] runs borrowed jobs
//! and returns only when every job has finished (also when one panics), which
//! is what makes lending them to other threads sound.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, Receiver, Sender, TryRecvError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A job lent to a worker: a type-erased pointer to a closure that outlives
/// the [`Pool::scope`] call that sent it.
struct Task(*mut (dyn FnMut() + Send + 'static));

// SAFETY: the closure behind the pointer is `Send`, and `Pool::scope` keeps it
// alive and unaliased until the worker reports it finished.
unsafe impl Send for Task {}

struct Worker {
    tasks: Option<Sender<Task>>,
    done: Receiver<bool>,
    handle: Option<JoinHandle<()>>,
}

/// How long a thread polls a channel before it sleeps on it. Windows follow
/// each other within microseconds while training, and waking a sleeping thread
/// costs tens of microseconds (more under a hypervisor), so a worker polls for
/// a little while after each job; an idle pool sleeps.
const SPIN: Duration = Duration::from_micros(300);

/// Receives from `rx`, polling for up to [`SPIN`] before blocking; `None`
/// when the channel is closed.
fn spin_recv<T>(rx: &Receiver<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        for _ in 0..64 {
            match rx.try_recv() {
                Ok(v) => return Some(v),
                Err(TryRecvError::Disconnected) => return None,
                Err(TryRecvError::Empty) => std::hint::spin_loop(),
            }
        }
        if start.elapsed() >= SPIN {
            return rx.recv().ok();
        }
    }
}

/// A fixed set of worker threads.
pub struct Pool {
    workers: Vec<Worker>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pool({} workers)", self.workers.len())
    }
}

impl Pool {
    /// Starts `n` worker threads (0 is fine: everything then runs on the caller).
    pub fn new(n: usize) -> Self {
        let workers = (0..n)
            .map(|_| {
                let (task_tx, task_rx) = channel::<Task>();
                let (done_tx, done_rx) = channel::<bool>();
                let handle = std::thread::Builder::new()
                    .name("charm-shard".into())
                    .spawn(move || {
                        while let Some(Task(job)) = spin_recv(&task_rx) {
                            // SAFETY: `scope` sent this pointer to a live
                            // closure and waits for our answer before the
                            // closure's borrow ends; no other thread touches it.
                            let ok = catch_unwind(AssertUnwindSafe(|| unsafe { (*job)() })).is_ok();
                            if done_tx.send(ok).is_err() {
                                break;
                            }
                        }
                    })
                    .expect("cannot start a training thread");
                Worker {
                    tasks: Some(task_tx),
                    done: done_rx,
                    handle: Some(handle),
                }
            })
            .collect();
        Self { workers }
    }

    /// Runs `jobs[0]` on the calling thread and `jobs[i]` on worker `i - 1`,
    /// and returns when all have finished. Panics if a job panicked, after all
    /// have finished. At most one more job than workers.
    pub fn scope(&self, jobs: &mut [&mut (dyn FnMut() + Send)]) {
        assert!(
            jobs.len() <= self.workers.len() + 1,
            "more jobs than threads"
        );
        let Some((first, rest)) = jobs.split_first_mut() else {
            return;
        };
        /// Waits for the lent jobs when dropped: after the caller's own job,
        /// and also while unwinding if that job panics.
        struct Wait<'a> {
            workers: &'a [Worker],
            ok: &'a Cell<bool>,
        }
        impl Drop for Wait<'_> {
            fn drop(&mut self) {
                for w in self.workers {
                    // A closed channel means the worker is gone, and so is
                    // its use of the job.
                    if !spin_recv(&w.done).unwrap_or(false) {
                        self.ok.set(false);
                    }
                }
            }
        }
        let lent = rest.len();
        let ok = Cell::new(true);
        let mut sent = 0;
        {
            let mut wait = Wait {
                workers: &self.workers[..0],
                ok: &ok,
            };
            for (job, worker) in rest.iter_mut().zip(&self.workers) {
                let ptr: *mut (dyn FnMut() + Send + '_) = &mut **job;
                // SAFETY: only the lifetime is erased; `wait` blocks until the
                // worker has finished with the closure before this block ends,
                // so before `jobs` (and what the closures borrow) can go away.
                let ptr: *mut (dyn FnMut() + Send + 'static) = unsafe { std::mem::transmute(ptr) };
                let tx = worker.tasks.as_ref().expect("pool is running");
                if tx.send(Task(ptr)).is_err() {
                    break;
                }
                sent += 1;
                wait.workers = &self.workers[..sent];
            }
            first();
        }
        assert!(ok.get() && sent == lent, "a training thread panicked");
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        for w in &mut self.workers {
            w.tasks = None; // closes the channel: the worker's loop ends
        }
        for w in &mut self.workers {
            if let Some(h) = w.handle.take() {
                let _ = h.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_borrowed_jobs_and_reports_panics() {
        let pool = Pool::new(2);
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
        // The pool still works after a panicking job.
        let mut x = 0;
        let mut j0 = || {};
        let mut j1 = || x = 7;
        pool.scope(&mut [&mut j0, &mut j1]);
        assert_eq!(x, 7);
    }
}
