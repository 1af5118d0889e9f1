//! What clients can make the daemon hold. A client that writes without
//! reading, or connects without end, is slowed down or turned away instead of
//! growing the daemon; the clients that behave are served meanwhile.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;
use tokio::time::Duration;

/// Open connections per socket (`rpc.sock`, `pub.sock`); more are closed at once.
pub const MAX_CONNECTIONS: usize = 1024;
/// Calls of one RPC connection that are running or whose reply is not yet
/// written; at this count the daemon stops reading that connection. Clients
/// send one call per app at once (`stop all`), so a lower cap makes a fleet
/// of slow stoppers wait in turns; a higher one lets more replies pile up for
/// a client that does not read.
pub const MAX_CALLS_IN_FLIGHT: usize = 64;
/// Reply bytes of one RPC connection waiting to be written; past this the
/// daemon stops reading that connection until its client reads.
pub const MAX_REPLY_BYTES_QUEUED: usize = 16 << 20;
/// Largest request frame; requests are small (the largest is a `prepare` with
/// its env), replies are not limited.
pub const MAX_REQUEST_BYTES: usize = 16 << 20;
/// Event bytes queued for one bus subscriber; past this its events are dropped.
pub const MAX_EVENT_BYTES_QUEUED: usize = 4 << 20;
/// Pause after a failed accept: the connection stays in the backlog, and at
/// the fd limit an immediate retry would fail the same way in a busy loop.
pub const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// Counts the open connections of one socket.
#[derive(Clone)]
pub struct ConnectionSlots {
    open: Arc<AtomicUsize>,
    max: usize,
}

/// One open connection; its slot is free again when this is dropped.
pub struct Slot(Arc<AtomicUsize>);

impl ConnectionSlots {
    pub fn new(max: usize) -> ConnectionSlots {
        ConnectionSlots {
            open: Arc::default(),
            max,
        }
    }

    pub fn take(&self) -> Option<Slot> {
        self.open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(self.open.clone()))
    }

    pub fn max(&self) -> usize {
        self.max
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What one RPC connection has outstanding: calls not yet answered on the
/// socket and reply bytes waiting to be written. Its reader takes a
/// [`CallCharge`] before each request and so stops reading while either is
/// at its limit; a single reply of any size still goes through.
pub struct CallBudget {
    used: Mutex<Used>,
    freed: Notify,
    max_calls: usize,
    max_bytes: usize,
}

#[derive(Default)]
struct Used {
    calls: usize,
    bytes: usize,
}

/// One call, from its request until its reply is written (or dropped).
pub struct CallCharge {
    budget: Arc<CallBudget>,
    bytes: usize,
}

impl CallBudget {
    pub fn new(max_calls: usize, max_bytes: usize) -> Arc<CallBudget> {
        Arc::new(CallBudget {
            used: Mutex::default(),
            freed: Notify::new(),
            max_calls,
            max_bytes,
        })
    }

    /// Waits until the connection may have one more call.
    pub async fn reserve_call(self: &Arc<Self>) -> CallCharge {
        loop {
            if let Some(charge) = self.try_reserve_call() {
                return charge;
            }
            // A charge dropped since the check left a permit: no lost wake-up.
            self.freed.notified().await;
        }
    }

    fn try_reserve_call(self: &Arc<Self>) -> Option<CallCharge> {
        let mut used = self.used.lock().expect("budget lock");
        if used.calls >= self.max_calls || used.bytes >= self.max_bytes {
            return None;
        }
        used.calls += 1;
        Some(CallCharge {
            budget: self.clone(),
            bytes: 0,
        })
    }
}

impl CallCharge {
    /// Counts the call's reply, `bytes` long, until it is written.
    pub fn hold_reply(mut self, bytes: usize) -> CallCharge {
        self.budget.used.lock().expect("budget lock").bytes += bytes;
        self.bytes += bytes;
        self
    }
}

impl Drop for CallCharge {
    fn drop(&mut self) {
        let mut used = self.budget.used.lock().expect("budget lock");
        used.calls -= 1;
        used.bytes -= self.bytes;
        drop(used);
        self.budget.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    fn ready<F: Future>(f: F) -> Option<F::Output> {
        match pin!(f).poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(v) => Some(v),
            Poll::Pending => None,
        }
    }

    #[test]
    fn slots_run_out_and_come_back() {
        let slots = ConnectionSlots::new(2);
        let a = slots.take().unwrap();
        let _b = slots.take().unwrap();
        assert!(slots.take().is_none());
        drop(a);
        assert!(slots.take().is_some());
    }

    #[test]
    fn a_connection_waits_at_its_call_limit() {
        let budget = CallBudget::new(2, 1000);
        let first = ready(budget.reserve_call()).unwrap();
        let _second = ready(budget.reserve_call()).unwrap();
        assert!(ready(budget.reserve_call()).is_none());
        drop(first);
        assert!(ready(budget.reserve_call()).is_some());
    }

    #[test]
    fn a_connection_waits_while_its_replies_are_over_budget() {
        let budget = CallBudget::new(10, 1000);
        // One reply larger than the whole budget is held, not refused.
        let big = ready(budget.reserve_call()).unwrap().hold_reply(5000);
        assert!(ready(budget.reserve_call()).is_none());
        drop(big);
        let small = ready(budget.reserve_call()).unwrap().hold_reply(999);
        assert!(ready(budget.reserve_call()).is_some());
        drop(small);
        let used = budget.used.lock().unwrap();
        assert_eq!((used.calls, used.bytes), (0, 0));
    }
}
