//! Pending ack requests with their deadlines: ordered by deadline for timeouts, indexed by
//! (namespace, id) for answers. Shared by the server connection and the client.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use crate::{AckId, Nsp};

#[derive(Debug, Default)]
pub(crate) struct AckTable {
    /// (deadline, insertion number) -> the ack; the number keeps equal deadlines apart.
    deadlines: BTreeMap<(Instant, u64), (Nsp, AckId)>,
    index: HashMap<(Nsp, AckId), (Instant, u64)>,
    seq: u64,
}

impl AckTable {
    pub(crate) fn len(&self) -> usize {
        self.index.len()
    }

    /// Waits for `id` on `nsp` until `deadline` (replacing an earlier wait for the same id).
    pub(crate) fn insert(&mut self, deadline: Instant, nsp: &Nsp, id: AckId) {
        let key = (deadline, self.seq);
        self.seq += 1;
        if let Some(old) = self.index.insert((nsp.clone(), id), key) {
            self.deadlines.remove(&old);
        }
        self.deadlines.insert(key, (nsp.clone(), id));
    }

    /// Stops waiting for `id` on `nsp`; whether it was awaited.
    pub(crate) fn remove(&mut self, nsp: &Nsp, id: AckId) -> bool {
        match self.index.remove(&(nsp.clone(), id)) {
            Some(key) => {
                self.deadlines.remove(&key);
                true
            }
            None => false,
        }
    }

    /// Stops waiting for every ack of `nsp`; returns their ids in deadline order.
    pub(crate) fn remove_nsp(&mut self, nsp: &Nsp) -> Vec<AckId> {
        self.remove_nsp_where(nsp, |_| true)
    }

    /// Stops waiting for the acks of `nsp` that `pick` selects; returns their ids in deadline
    /// order.
    pub(crate) fn remove_nsp_where(
        &mut self,
        nsp: &Nsp,
        mut pick: impl FnMut(AckId) -> bool,
    ) -> Vec<AckId> {
        let ids: Vec<AckId> = self
            .deadlines
            .values()
            .filter(|(n, id)| n == nsp && pick(*id))
            .map(|(_, id)| *id)
            .collect();
        for id in &ids {
            self.remove(nsp, *id);
        }
        ids
    }

    /// The next ack whose deadline is at or before `now`, removed.
    pub(crate) fn pop_expired(&mut self, now: Instant) -> Option<(Nsp, AckId)> {
        let entry = self.deadlines.first_entry()?;
        if entry.key().0 > now {
            return None;
        }
        let (nsp, id) = entry.remove();
        self.index.remove(&(nsp.clone(), id));
        Some((nsp, id))
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.keys().next().map(|(t, _)| *t)
    }
}
