//! The order in which the actor takes its messages: each client in turn.
//!
//! A bulk action is hundreds of requests from one connection (`restart all`
//! sends one per app, up to its budget of calls in flight), and each of them
//! is a launch or a stop for the actor. Taken in arrival order, a request of
//! another client waits behind all of them: half a second behind a `restart
//! all` of 1,000 apps. So the messages taken off the channel are kept by
//! source (the RPC connection a request came on, or the daemon itself: child
//! events, timers, steps of its own sequences) and the actor takes one
//! message of each source in turn. Each source's messages keep their order.

use super::{Msg, Request, QUEUE};
use std::collections::VecDeque;

tokio::task_local! {
    /// The RPC connection whose call the current task serves.
    static CLIENT: u64;
}

/// Runs `call` as a call of RPC connection `connection` (numbered from 1):
/// what it asks the supervisor takes its turn with that connection's requests.
pub async fn as_client<F: std::future::Future>(connection: u64, call: F) -> F::Output {
    CLIENT.scope(connection, call).await
}

/// The connection the current task serves a call of, if any.
pub(super) fn current_client() -> Option<u64> {
    CLIENT.try_with(|c| *c).ok()
}

/// Where a message comes from: 0 for the daemon itself.
fn source(msg: &Msg) -> u64 {
    match msg {
        Msg::Request(Request::Client { connection, .. }) => *connection,
        _ => 0,
    }
}

/// Messages taken off the channel, by source, served in turn.
#[derive(Default)]
pub(super) struct Inbox {
    /// The sources with messages waiting, the next to be served first.
    sources: VecDeque<(u64, VecDeque<Msg>)>,
    len: usize,
}

impl Inbox {
    /// Whether more messages may be taken off the channel: at most [`QUEUE`]
    /// wait here, so senders still wait once the channel is full too.
    pub fn has_room(&self) -> bool {
        self.len < QUEUE
    }

    pub fn push(&mut self, msg: Msg) {
        let from = source(&msg);
        self.len += 1;
        match self.sources.iter_mut().find(|(s, _)| *s == from) {
            Some((_, queue)) => queue.push_back(msg),
            None => self.sources.push_back((from, VecDeque::from([msg]))),
        }
    }

    /// The next message of the next source; that source goes to the back.
    pub fn pop(&mut self) -> Option<Msg> {
        let (from, mut queue) = self.sources.pop_front()?;
        let msg = queue.pop_front();
        if !queue.is_empty() {
            self.sources.push_back((from, queue));
        }
        self.len -= 1;
        msg
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervisor::Timer;
    use std::sync::{Arc, Mutex};

    /// Notes its connection and number when the message holding it goes.
    struct Mark(u64, u64, Arc<Mutex<Vec<(u64, u64)>>>);

    impl Drop for Mark {
        fn drop(&mut self) {
            self.2.lock().unwrap().push((self.0, self.1));
        }
    }

    #[test]
    fn sources_take_turns_and_keep_their_order() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let client = |connection: u64, n: u64| {
            let mark = Mark(connection, n, seen.clone());
            Msg::Request(Request::Client {
                connection,
                job: Box::new(move |_| drop(mark)),
            })
        };
        let mut inbox = Inbox::default();
        for n in 1..=3 {
            inbox.push(client(7, n));
        }
        inbox.push(Msg::Timer(Timer::WorkerTick));
        inbox.push(client(9, 1));
        inbox.push(client(7, 4));
        let mut daemon_turn = None;
        while let Some(msg) = inbox.pop() {
            if matches!(msg, Msg::Timer(Timer::WorkerTick)) {
                daemon_turn = Some(seen.lock().unwrap().len());
            }
        }
        assert_eq!(
            *seen.lock().unwrap(),
            vec![(7, 1), (9, 1), (7, 2), (7, 3), (7, 4)],
            "the request of connection 9 waits for one message of each other source, not for all of 7's"
        );
        assert_eq!(daemon_turn, Some(1), "the daemon's own message came second");
        assert!(inbox.has_room());
    }
}
