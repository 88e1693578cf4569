//! A peer's outbox: the messages waiting for a connection to one peer, taken in order by at most `cap`
//! workers, each carrying one call at a time.
//!
//! A workflow waiting to be handed on is then a queued message (a few hundred bytes), not a task parked on a
//! semaphore: with many workflows in flight, a worker that finishes a call takes the next message at once,
//! instead of waking another task to take its turn, and the number of tasks that run stays bounded by the
//! connections. (Measured before, with a task per handoff waiting on a semaphore for its turn: at 1,024
//! workflows in flight nearly every handoff waited, and tokio's counters showed 7.1-8.1 task polls per handoff
//! against 6.8-7.3 at 32.)
//!
//! Workers are started on demand (a message queued when none is idle and fewer than `cap` run) and then stay,
//! parked while idle, until [`Outbox::close`].

use std::collections::VecDeque;
use std::sync::Mutex;

use tokio::sync::Notify;

use crate::server::lock;

/// The queue of one peer and its workers' count.
pub(crate) struct Outbox<J> {
    state: Mutex<State<J>>,
    wake: Notify,
    cap: usize,
}

struct State<J> {
    jobs: VecDeque<J>,
    /// Workers running (busy or idle).
    workers: usize,
    /// Workers parked with nothing to do and not yet woken.
    idle: usize,
    closed: bool,
}

/// What [`Outbox::push`] asks of its caller.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pushed<J> {
    /// Queued; a worker will take it.
    Queued,
    /// Queued, and no worker is free: the caller starts one (which runs [`Outbox::next`] until `None`).
    StartWorker,
    /// The outbox is closed: the message comes back.
    Closed(J),
}

impl<J> Outbox<J> {
    /// An open outbox for at most `cap` workers (at least one).
    pub(crate) fn new(cap: usize) -> Outbox<J> {
        let state = State { jobs: VecDeque::new(), workers: 0, idle: 0, closed: false };
        Outbox { state: Mutex::new(state), wake: Notify::new(), cap: cap.max(1) }
    }

    /// Queue `job` at the back.
    pub(crate) fn push(&self, job: J) -> Pushed<J> {
        let mut st = lock(&self.state);
        if st.closed {
            return Pushed::Closed(job);
        }
        st.jobs.push_back(job);
        if st.idle > 0 {
            st.idle -= 1;
            drop(st);
            self.wake.notify_one();
            Pushed::Queued
        } else if st.workers < self.cap {
            st.workers += 1;
            Pushed::StartWorker
        } else {
            // Every worker is busy; the first to finish takes it.
            Pushed::Queued
        }
    }

    /// A worker's next message, waiting while there is none; `None` once the outbox is closed (the worker
    /// then ends).
    pub(crate) async fn next(&self) -> Option<J> {
        let notified = self.wake.notified();
        tokio::pin!(notified);
        loop {
            // Registered before the queue is looked at, so a push in between is not missed.
            notified.as_mut().enable();
            {
                let mut st = lock(&self.state);
                if st.closed {
                    st.workers -= 1;
                    return None;
                }
                if let Some(job) = st.jobs.pop_front() {
                    return Some(job);
                }
                st.idle += 1;
            }
            notified.as_mut().await;
            notified.set(self.wake.notified());
        }
    }

    /// Close: later pushes come back, workers end after the call they are making, and the messages still
    /// queued are returned (unsent).
    pub(crate) fn close(&self) -> Vec<J> {
        let jobs = {
            let mut st = lock(&self.state);
            st.closed = true;
            std::mem::take(&mut st.jobs)
        };
        self.wake.notify_waiters();
        jobs.into()
    }

    /// Messages queued now.
    #[cfg(test)]
    fn queued(&self) -> usize {
        lock(&self.state).jobs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// Push `n` jobs through an outbox of `cap` workers, each job taking a short sleep; returns the most
    /// workers started and the jobs done.
    async fn run(n: usize, cap: usize) -> (usize, usize) {
        let out = Arc::new(Outbox::new(cap));
        let done = Arc::new(AtomicUsize::new(0));
        let mut started = 0;
        let mut workers = tokio::task::JoinSet::new();
        for k in 0..n {
            if let Pushed::StartWorker = out.push(k) {
                started += 1;
                let (out, done) = (out.clone(), done.clone());
                workers.spawn(async move {
                    while let Some(_job) = out.next().await {
                        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
            if k % 7 == 0 {
                tokio::task::yield_now().await;
            }
        }
        while done.load(Ordering::Relaxed) < n {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        assert_eq!(out.queued(), 0);
        assert!(out.close().is_empty());
        // Every worker ends once closed, parked or not.
        tokio::time::timeout(std::time::Duration::from_secs(5), async { while workers.join_next().await.is_some() {} })
            .await
            .expect("workers end after close");
        (started, done.load(Ordering::Relaxed))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_job_is_done_by_at_most_cap_workers() {
        for (n, cap) in [(1, 4), (10, 1), (200, 4), (500, 64)] {
            let (started, done) = run(n, cap).await;
            assert_eq!(done, n, "{n} jobs, {cap} workers");
            assert!((1..=cap).contains(&started), "{started} workers started for cap {cap}");
        }
    }

    #[tokio::test]
    async fn an_idle_worker_takes_the_next_job_instead_of_a_new_one_starting() {
        let out = Arc::new(Outbox::new(8));
        assert_eq!(out.push(1), Pushed::StartWorker);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let w = {
            let out = out.clone();
            tokio::spawn(async move {
                while let Some(j) = out.next().await {
                    tx.send(j).unwrap();
                }
            })
        };
        assert_eq!(rx.recv().await, Some(1));
        // Let the worker park.
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert_eq!(out.push(2), Pushed::Queued);
        assert_eq!(rx.recv().await, Some(2));
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert!(out.close().is_empty());
        w.await.unwrap();
        assert!(matches!(out.push(3), Pushed::Closed(3)));
    }

    #[test]
    fn close_returns_what_was_queued() {
        let out = Outbox::new(1);
        assert_eq!(out.push('a'), Pushed::StartWorker);
        assert_eq!(out.push('b'), Pushed::Queued);
        assert_eq!(out.close(), vec!['a', 'b']);
    }
}
