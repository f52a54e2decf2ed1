//! A session's inbox: the one queue its task reads its inputs from.
//!
//! Two lanes under one lock. `control` (long-polls, aborts, a WebSocket's attach) never makes
//! its sender wait: each input there belongs to a request or socket the server is holding
//! anyway, so the lane is bounded by what the server holds open. `data` (POST bodies) holds at
//! most `capacity` inputs and its senders wait for room, which the task makes only while the
//! application keeps up: a slow application slows its client down. One allocation per session
//! and nothing more while it is idle (a queue takes room for an input and gives it back
//! when emptied).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

struct State<T> {
    control: VecDeque<T>,
    data: VecDeque<T>,
    capacity: usize,
    /// The task reading the inbox.
    receiver: Option<Waker>,
    /// Senders waiting for room in `data`, by the id of their send.
    waiting: Vec<(u64, Waker)>,
    next_waiter: u64,
    closed: bool,
}

/// The senders' handle (cloned freely: one allocation in all).
pub(crate) struct Inbox<T> {
    shared: Arc<Mutex<State<T>>>,
}

impl<T> Clone for Inbox<T> {
    fn clone(&self) -> Self {
        Inbox {
            shared: self.shared.clone(),
        }
    }
}

/// The reading task's handle. Dropping it closes the inbox and drops what was still queued.
pub(crate) struct Receiver<T> {
    shared: Arc<Mutex<State<T>>>,
}

fn lock<T>(shared: &Mutex<State<T>>) -> MutexGuard<'_, State<T>> {
    // Nothing here can be left half-done by a panic elsewhere.
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A new inbox whose data lane holds `capacity` inputs.
pub(crate) fn inbox<T>(capacity: usize) -> (Inbox<T>, Receiver<T>) {
    let shared = Arc::new(Mutex::new(State {
        control: VecDeque::new(),
        data: VecDeque::new(),
        capacity: capacity.max(1),
        receiver: None,
        waiting: Vec::new(),
        next_waiter: 0,
        closed: false,
    }));
    (
        Inbox {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

impl<T> Inbox<T> {
    /// Queues a control input; gives it back if the inbox is closed.
    pub(crate) fn control(&self, item: T) -> Result<(), T> {
        let waker = {
            let mut state = lock(&self.shared);
            if state.closed {
                return Err(item);
            }
            state.control.push_back(item);
            state.receiver.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    /// Queues a data input once there is room; resolves to the input given back if the inbox
    /// is (or gets) closed first.
    pub(crate) fn data(&self, item: T) -> SendData<'_, T> {
        SendData {
            inbox: self,
            item: Some(item),
            waiter: None,
        }
    }
}

/// The future of [`Inbox::data`].
pub(crate) struct SendData<'a, T> {
    inbox: &'a Inbox<T>,
    item: Option<T>,
    waiter: Option<u64>,
}

impl<T> Unpin for SendData<'_, T> {}

impl<T> Future for SendData<'_, T> {
    type Output = Result<(), T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), T>> {
        let this = self.get_mut();
        let Some(item) = this.item.take() else {
            panic!("SendData polled after it resolved");
        };
        let waker = {
            let mut state = lock(&this.inbox.shared);
            if state.closed {
                return Poll::Ready(Err(item));
            }
            if state.data.len() >= state.capacity {
                this.item = Some(item);
                let id = *this.waiter.get_or_insert_with(|| {
                    state.next_waiter += 1;
                    state.next_waiter
                });
                match state.waiting.iter_mut().find(|(w, _)| *w == id) {
                    Some((_, w)) => w.clone_from(cx.waker()),
                    None => state.waiting.push((id, cx.waker().clone())),
                }
                return Poll::Pending;
            }
            if let Some(id) = this.waiter.take() {
                state.waiting.retain(|(w, _)| *w != id);
            }
            state.data.push_back(item);
            state.receiver.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
        Poll::Ready(Ok(()))
    }
}

impl<T> Drop for SendData<'_, T> {
    fn drop(&mut self) {
        if let Some(id) = self.waiter {
            lock(&self.inbox.shared).waiting.retain(|(w, _)| *w != id);
        }
    }
}

impl<T> Receiver<T> {
    fn register(state: &mut State<T>, cx: &Context<'_>) {
        match &mut state.receiver {
            Some(w) => w.clone_from(cx.waker()),
            None => state.receiver = Some(cx.waker().clone()),
        }
    }

    /// The next control input; wakes the task when one comes.
    pub(crate) fn poll_control(&mut self, cx: &Context<'_>) -> Poll<T> {
        let mut state = lock(&self.shared);
        match state.control.pop_front() {
            Some(item) => {
                shrink(&mut state.control);
                Poll::Ready(item)
            }
            None => {
                Self::register(&mut state, cx);
                Poll::Pending
            }
        }
    }

    /// The next data input; wakes the task when one comes (and the senders waiting for room
    /// when it takes one).
    pub(crate) fn poll_data(&mut self, cx: &Context<'_>) -> Poll<T> {
        let (item, waiting) = {
            let mut state = lock(&self.shared);
            match state.data.pop_front() {
                Some(item) => {
                    shrink(&mut state.data);
                    (item, std::mem::take(&mut state.waiting))
                }
                None => {
                    Self::register(&mut state, cx);
                    return Poll::Pending;
                }
            }
        };
        // Every waiting sender tries again (one that went away meanwhile would otherwise keep
        // the room it was woken for).
        for (_, w) in waiting {
            w.wake();
        }
        Poll::Ready(item)
    }

    /// Refuses new inputs from now on (those queued stay, for [`Receiver::try_recv`]).
    pub(crate) fn close(&mut self) {
        let waiting = {
            let mut state = lock(&self.shared);
            state.closed = true;
            std::mem::take(&mut state.waiting)
        };
        for (_, w) in waiting {
            w.wake();
        }
    }

    /// A queued input, control first, without waiting.
    pub(crate) fn try_recv(&mut self) -> Option<T> {
        let mut state = lock(&self.shared);
        state.control.pop_front().or_else(|| state.data.pop_front())
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.close();
        // Dropped outside the lock: an input may own something whose drop sends here.
        let (control, data) = {
            let mut state = lock(&self.shared);
            (
                std::mem::take(&mut state.control),
                std::mem::take(&mut state.data),
            )
        };
        drop((control, data));
    }
}

/// Gives back the room of an emptied queue: inputs are rare on a session whose client talks
/// over a WebSocket (one per long-poll otherwise, where an allocation is nothing beside the
/// HTTP request), so an idle session keeps none.
fn shrink<T>(queue: &mut VecDeque<T>) {
    if queue.is_empty() {
        *queue = VecDeque::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counter() -> (Arc<Count>, Waker) {
        let c = Arc::new(Count(AtomicUsize::new(0)));
        (c.clone(), Waker::from(c))
    }

    fn woken(c: &Count) -> usize {
        c.0.load(Ordering::SeqCst)
    }

    #[test]
    fn control_never_waits_and_wakes_the_reader() {
        let (tx, mut rx) = inbox::<u32>(1);
        let (reader, waker) = counter();
        let cx = Context::from_waker(&waker);
        assert!(rx.poll_control(&cx).is_pending());
        for i in 0..10 {
            tx.control(i).unwrap();
        }
        assert_eq!(woken(&reader), 1, "woken once, by the first input");
        for i in 0..10 {
            assert_eq!(rx.poll_control(&cx), Poll::Ready(i));
        }
        assert!(rx.poll_control(&cx).is_pending());
        assert_eq!(
            lock(&tx.shared).control.capacity(),
            0,
            "an idle inbox keeps no room"
        );
    }

    #[test]
    fn data_waits_for_room_and_is_woken_when_the_reader_takes_one() {
        let (tx, mut rx) = inbox::<u32>(2);
        let (reader, reader_waker) = counter();
        let rcx = Context::from_waker(&reader_waker);
        let (sender, sender_waker) = counter();
        let scx = &mut Context::from_waker(&sender_waker);
        assert!(rx.poll_data(&rcx).is_pending());
        assert_eq!(Pin::new(&mut tx.data(1)).poll(scx), Poll::Ready(Ok(())));
        assert_eq!(woken(&reader), 1);
        assert_eq!(Pin::new(&mut tx.data(2)).poll(scx), Poll::Ready(Ok(())));
        let mut third = tx.data(3);
        assert!(Pin::new(&mut third).poll(scx).is_pending(), "full: waits");
        assert!(Pin::new(&mut third).poll(scx).is_pending(), "still full");
        assert_eq!(lock(&tx.shared).waiting.len(), 1, "registered once");
        assert_eq!(rx.poll_data(&rcx), Poll::Ready(1));
        assert_eq!(woken(&sender), 1, "room: the sender is woken");
        assert_eq!(Pin::new(&mut third).poll(scx), Poll::Ready(Ok(())));
        assert_eq!(rx.poll_data(&rcx), Poll::Ready(2));
        assert_eq!(rx.poll_data(&rcx), Poll::Ready(3));
        assert!(rx.poll_data(&rcx).is_pending());
    }

    #[test]
    fn a_sender_that_gives_up_leaves_nothing_behind() {
        let (tx, mut rx) = inbox::<u32>(1);
        let (_, waker) = counter();
        let cx = &mut Context::from_waker(&waker);
        assert_eq!(Pin::new(&mut tx.data(1)).poll(cx), Poll::Ready(Ok(())));
        for i in 0..100 {
            let mut send = tx.data(i);
            assert!(Pin::new(&mut send).poll(cx).is_pending());
        }
        assert!(
            lock(&tx.shared).waiting.is_empty(),
            "dropped sends unregister"
        );
        assert_eq!(rx.poll_data(cx), Poll::Ready(1));
        assert!(rx.poll_data(cx).is_pending());
    }

    #[test]
    fn closing_refuses_new_inputs_and_wakes_waiting_senders_keeping_queued_ones() {
        let (tx, mut rx) = inbox::<u32>(1);
        let (sender, waker) = counter();
        let cx = &mut Context::from_waker(&waker);
        tx.control(7).unwrap();
        assert_eq!(Pin::new(&mut tx.data(8)).poll(cx), Poll::Ready(Ok(())));
        let mut blocked = tx.data(9);
        assert!(Pin::new(&mut blocked).poll(cx).is_pending());
        rx.close();
        assert_eq!(woken(&sender), 1);
        assert_eq!(Pin::new(&mut blocked).poll(cx), Poll::Ready(Err(9)));
        assert_eq!(tx.control(10), Err(10));
        assert_eq!(rx.try_recv(), Some(7));
        assert_eq!(rx.try_recv(), Some(8));
        assert_eq!(rx.try_recv(), None);
    }

    #[test]
    fn a_dropped_reader_drops_what_was_queued() {
        let (tx, rx) = inbox::<Arc<()>>(4);
        let item = Arc::new(());
        tx.control(item.clone()).unwrap();
        let (_, waker) = counter();
        let cx = &mut Context::from_waker(&waker);
        assert!(Pin::new(&mut tx.data(item.clone())).poll(cx).is_ready());
        assert_eq!(Arc::strong_count(&item), 3);
        drop(rx);
        assert_eq!(Arc::strong_count(&item), 1);
        assert!(tx.control(item.clone()).is_err());
    }
}
