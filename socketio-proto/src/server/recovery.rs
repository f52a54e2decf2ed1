//! Connection state recovery (socket.io 4.6+): sessions of sockets that dropped, and the
//! packets they may have missed, both bounded.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use crate::rooms::{Room, Rooms, SocketId};
use crate::{Encoded, Nsp};

/// Recovery settings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecoveryConfig {
    /// How long after a disconnection a session can still be recovered (default 2 min).
    pub max_disconnection_duration: Duration,
    /// Sessions kept at most (oldest dropped first; default 10 000).
    pub max_sessions: usize,
    /// Packets kept per namespace at most (oldest dropped first; default 10 000).
    pub max_packets: usize,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        RecoveryConfig {
            max_disconnection_duration: Duration::from_secs(120),
            max_sessions: 10_000,
            max_packets: 10_000,
        }
    }
}

#[derive(Debug)]
struct Saved {
    nsp: Nsp,
    socket: SocketId,
    rooms: BTreeSet<Room>,
    at: Instant,
}

#[derive(Debug)]
struct Stored {
    offset: u64,
    rooms: Vec<Room>,
    except: Vec<Room>,
    packet: Encoded,
    at: Instant,
}

/// A recovered session.
#[derive(Debug)]
pub(super) struct Restored {
    pub(super) socket: SocketId,
    pub(super) pid: String,
    pub(super) rooms: BTreeSet<Room>,
    pub(super) replay: Vec<Encoded>,
}

#[derive(Debug)]
pub(super) struct RecoveryStore {
    config: RecoveryConfig,
    sessions: BTreeMap<String, Saved>,
    /// Save order, for dropping the oldest.
    order: VecDeque<(Instant, String)>,
    packets: BTreeMap<Nsp, VecDeque<Stored>>,
    next_offset: u64,
}

/// Offsets are a counter written in base 36 (short, like the reference's yeast ids).
fn format_offset(n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    let mut n = n;
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

fn parse_offset(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 13 {
        return None;
    }
    u64::from_str_radix(s, 36).ok()
}

impl RecoveryStore {
    pub(super) fn new(config: RecoveryConfig) -> Self {
        RecoveryStore {
            config,
            sessions: BTreeMap::new(),
            order: VecDeque::new(),
            packets: BTreeMap::new(),
            next_offset: 0,
        }
    }

    pub(super) fn next_offset(&mut self) -> String {
        let o = format_offset(self.next_offset);
        self.next_offset += 1;
        o
    }

    pub(super) fn push(
        &mut self,
        now: Instant,
        nsp: &Nsp,
        offset: String,
        rooms: &[Room],
        except: &[Room],
        packet: &Encoded,
    ) {
        let Some(offset) = parse_offset(&offset) else {
            return;
        };
        let max_age = self.config.max_disconnection_duration;
        let max = self.config.max_packets;
        let log = self.packets.entry(nsp.clone()).or_default();
        while log
            .front()
            .is_some_and(|p| now.saturating_duration_since(p.at) > max_age || log.len() >= max)
        {
            log.pop_front();
        }
        if max > 0 {
            log.push_back(Stored {
                offset,
                rooms: rooms.to_vec(),
                except: except.to_vec(),
                packet: packet.clone(),
                at: now,
            });
        }
    }

    pub(super) fn save(
        &mut self,
        now: Instant,
        nsp: &Nsp,
        pid: String,
        socket: SocketId,
        rooms: BTreeSet<Room>,
    ) {
        let max_age = self.config.max_disconnection_duration;
        while let Some((at, pid)) = self.order.front() {
            let expired = now.saturating_duration_since(*at) > max_age;
            if !expired && self.sessions.len() < self.config.max_sessions {
                break;
            }
            // Entries whose session was restored meanwhile are skipped.
            if self.sessions.get(pid).is_some_and(|s| s.at == *at) {
                self.sessions.remove(pid);
            }
            self.order.pop_front();
        }
        if self.config.max_sessions == 0 {
            return;
        }
        self.order.push_back((now, pid.clone()));
        self.sessions.insert(
            pid,
            Saved {
                nsp: nsp.clone(),
                socket,
                rooms,
                at: now,
            },
        );
    }

    /// The stored packets after `offset` (exclusive), if `offset` is still in the log.
    fn after<'a>(&'a self, nsp: &Nsp, offset: &str) -> Option<impl Iterator<Item = &'a Stored>> {
        let offset = parse_offset(offset)?;
        let log = self.packets.get(nsp)?;
        let pos = log.iter().position(|p| p.offset == offset)?;
        Some(log.iter().skip(pos + 1))
    }

    pub(super) fn can_restore(&self, now: Instant, nsp: &Nsp, pid: &str, offset: &str) -> bool {
        self.sessions.get(pid).is_some_and(|s| {
            s.nsp == *nsp
                && now.saturating_duration_since(s.at) <= self.config.max_disconnection_duration
        }) && self.after(nsp, offset).is_some()
    }

    pub(super) fn restore(
        &mut self,
        now: Instant,
        nsp: &Nsp,
        pid: &str,
        offset: &str,
    ) -> Option<Restored> {
        if !self.can_restore(now, nsp, pid, offset) {
            return None;
        }
        let saved = self.sessions.remove(pid)?;
        let socket_rooms: Vec<Room> = saved
            .rooms
            .iter()
            .cloned()
            .chain(std::iter::once(Room::from(&saved.socket)))
            .collect();
        let replay = self
            .after(nsp, offset)?
            .filter(|p| Rooms::matches(socket_rooms.iter(), &p.rooms, &p.except))
            .map(|p| p.packet.clone())
            .collect();
        Some(Restored {
            socket: saved.socket,
            pid: pid.to_owned(),
            rooms: saved.rooms,
            replay,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_round_trip() {
        for n in [0u64, 1, 35, 36, 1_000_000, u64::MAX] {
            assert_eq!(parse_offset(&format_offset(n)), Some(n));
        }
        assert_eq!(parse_offset(""), None);
        assert_eq!(parse_offset("!"), None);
    }
}
