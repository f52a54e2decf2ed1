//! Rooms: a pure two-way index (room -> members, member -> rooms) per namespace, used to plan
//! broadcasts.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

use bytestring::ByteString;
use serde::{Deserialize, Serialize};

/// A socket id: 20 characters of base64url in v5, derived from the Engine.IO sid in v4.
/// Every socket is a member of the room named by its id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SocketId(ByteString);

impl SocketId {
    /// A socket id from its text.
    pub fn new(id: impl Into<ByteString>) -> Self {
        SocketId(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SocketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A room name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Room(ByteString);

impl Room {
    /// The room's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Room {
    fn from(s: &str) -> Self {
        Room(s.into())
    }
}

impl From<String> for Room {
    fn from(s: String) -> Self {
        Room(s.into())
    }
}

impl From<&SocketId> for Room {
    fn from(id: &SocketId) -> Self {
        Room(id.0.clone())
    }
}

impl fmt::Display for Room {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A change of the index, as the JS in-memory adapter reports them (`create-room`,
/// `delete-room`, `join-room`, `leave-room`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RoomEvent {
    /// A room got its first member.
    Created(Room),
    /// A room lost its last member.
    Deleted(Room),
    /// A socket joined a room.
    Joined(Room, SocketId),
    /// A socket left a room.
    Left(Room, SocketId),
}

/// A sorted set that holds one element without a B-tree node: every socket has a room of its
/// own (its id) with one member, and is often in that room only, so two of these per socket
/// would each cost a node of eleven slots.
#[derive(Debug, Clone)]
enum SmallSet<T> {
    One(T),
    Many(BTreeSet<T>),
}

impl<T: Ord + Clone> Default for SmallSet<T> {
    fn default() -> Self {
        SmallSet::Many(BTreeSet::new())
    }
}

impl<T: Ord + Clone> SmallSet<T> {
    /// Adds `value`; whether it was not there.
    fn insert(&mut self, value: T) -> bool {
        match self {
            SmallSet::Many(set) if set.is_empty() => {
                *self = SmallSet::One(value);
                true
            }
            SmallSet::Many(set) => set.insert(value),
            SmallSet::One(one) if *one == value => false,
            SmallSet::One(one) => {
                let set = BTreeSet::from([one.clone(), value]);
                *self = SmallSet::Many(set);
                true
            }
        }
    }

    /// Removes `value`; whether it was there.
    fn remove(&mut self, value: &T) -> bool {
        match self {
            SmallSet::One(one) if one == value => {
                *self = SmallSet::Many(BTreeSet::new());
                true
            }
            SmallSet::One(_) => false,
            SmallSet::Many(set) => {
                let removed = set.remove(value);
                if set.len() == 1 {
                    if let Some(last) = set.pop_first() {
                        *self = SmallSet::One(last);
                    }
                }
                removed
            }
        }
    }

    fn contains(&self, value: &T) -> bool {
        match self {
            SmallSet::One(one) => one == value,
            SmallSet::Many(set) => set.contains(value),
        }
    }

    fn is_empty(&self) -> bool {
        matches!(self, SmallSet::Many(set) if set.is_empty())
    }

    /// The elements, sorted.
    fn iter(&self) -> impl Iterator<Item = &T> {
        let (one, many) = match self {
            SmallSet::One(one) => (Some(one), None),
            SmallSet::Many(set) => (None, Some(set.iter())),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }
}

/// The rooms of one namespace.
///
/// Iteration orders are sorted, so plans are deterministic.
#[derive(Debug, Default, Clone)]
pub struct Rooms {
    rooms: BTreeMap<Room, SmallSet<SocketId>>,
    sockets: BTreeMap<SocketId, SmallSet<Room>>,
    events: VecDeque<RoomEvent>,
    /// Whether to record [`RoomEvent`]s (off by default: nobody may be reading them).
    record: bool,
}

impl Rooms {
    /// An empty index.
    pub fn new() -> Self {
        Rooms::default()
    }

    /// Records [`RoomEvent`]s for [`Rooms::poll_event`] from now on.
    pub fn record_events(&mut self, on: bool) {
        self.record = on;
        if !on {
            self.events.clear();
        }
    }

    /// Adds a socket (joining the room named by its id).
    pub fn add_socket(&mut self, socket: &SocketId) {
        self.join(socket, Room::from(socket));
    }

    /// Whether the socket is known.
    pub fn contains_socket(&self, socket: &SocketId) -> bool {
        self.sockets.contains_key(socket)
    }

    /// Joins `socket` to `room` (nothing happens if it is a member already).
    pub fn join(&mut self, socket: &SocketId, room: Room) {
        let members = self.rooms.entry(room.clone()).or_default();
        let created = members.is_empty();
        let inserted = members.insert(socket.clone());
        if created {
            self.push(RoomEvent::Created(room.clone()));
        }
        if inserted {
            self.sockets
                .entry(socket.clone())
                .or_default()
                .insert(room.clone());
            self.push(RoomEvent::Joined(room, socket.clone()));
        }
    }

    /// Removes `socket` from `room`.
    pub fn leave(&mut self, socket: &SocketId, room: &Room) {
        let Some(members) = self.rooms.get_mut(room) else {
            return;
        };
        if !members.remove(socket) {
            return;
        }
        let empty = members.is_empty();
        if let Some(rooms) = self.sockets.get_mut(socket) {
            rooms.remove(room);
        }
        self.push(RoomEvent::Left(room.clone(), socket.clone()));
        if empty {
            self.rooms.remove(room);
            self.push(RoomEvent::Deleted(room.clone()));
        }
    }

    /// Removes `socket` from every room (on disconnect) and forgets it; returns the rooms it
    /// was in.
    pub fn remove_socket(&mut self, socket: &SocketId) -> BTreeSet<Room> {
        let rooms: BTreeSet<Room> = self
            .sockets
            .get(socket)
            .map(|r| r.iter().cloned().collect())
            .unwrap_or_default();
        for room in &rooms {
            self.leave(socket, room);
        }
        self.sockets.remove(socket);
        rooms
    }

    /// The rooms `socket` is in.
    pub fn rooms_of(&self, socket: &SocketId) -> impl Iterator<Item = &Room> {
        self.sockets
            .get(socket)
            .into_iter()
            .flat_map(SmallSet::iter)
    }

    /// The members of `room`.
    pub fn members(&self, room: &Room) -> impl Iterator<Item = &SocketId> {
        self.rooms.get(room).into_iter().flat_map(SmallSet::iter)
    }

    /// Every socket.
    pub fn sockets(&self) -> impl Iterator<Item = &SocketId> {
        self.sockets.keys()
    }

    /// Every room with at least one member.
    pub fn room_names(&self) -> impl Iterator<Item = &Room> {
        self.rooms.keys()
    }

    /// The sockets a broadcast reaches: members of any of `rooms` (every socket when `rooms`
    /// is empty), minus members of any of `except`; each once, sorted.
    pub fn targets(&self, rooms: &[Room], except: &[Room]) -> Vec<SocketId> {
        let excluded = |s: &SocketId| self.in_any(s, except);
        if rooms.is_empty() {
            return self
                .sockets
                .keys()
                .filter(|s| !excluded(s))
                .cloned()
                .collect();
        }
        let mut out = BTreeSet::new();
        for room in rooms {
            for s in self.members(room) {
                if !excluded(s) {
                    out.insert(s.clone());
                }
            }
        }
        out.into_iter().collect()
    }

    /// Whether `socket` is a member of any of `rooms`.
    pub fn in_any(&self, socket: &SocketId, rooms: &[Room]) -> bool {
        rooms
            .iter()
            .any(|r| self.rooms.get(r).is_some_and(|m| m.contains(socket)))
    }

    /// Whether a socket in `socket_rooms` is reached by a broadcast to `rooms` except
    /// `except` (used to replay stored packets on recovery).
    pub fn matches<'a>(
        socket_rooms: impl Iterator<Item = &'a Room> + Clone,
        rooms: &[Room],
        except: &[Room],
    ) -> bool {
        let mut sr = socket_rooms;
        let included = rooms.is_empty() || sr.clone().any(|r| rooms.contains(r));
        included && !sr.any(|r| except.contains(r))
    }

    /// The next recorded change, or `None`.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<RoomEvent> {
        self.events.pop_front()
    }

    fn push(&mut self, e: RoomEvent) {
        if self.record {
            self.events.push_back(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_events_follow_the_js_adapter() {
        let mut rooms = Rooms::new();
        rooms.record_events(true);
        let a = SocketId::new("a");
        let b = SocketId::new("b");
        rooms.add_socket(&a);
        rooms.join(&a, Room::from("r"));
        rooms.join(&b, Room::from("r"));
        rooms.join(&a, Room::from("r")); // already a member: nothing
        rooms.leave(&a, &Room::from("r"));
        rooms.remove_socket(&b);
        rooms.remove_socket(&a);
        let events: Vec<RoomEvent> = std::iter::from_fn(|| rooms.poll_event()).collect();
        let r = Room::from("r");
        let ra = Room::from(&a);
        assert_eq!(
            events,
            [
                RoomEvent::Created(ra.clone()),
                RoomEvent::Joined(ra.clone(), a.clone()),
                RoomEvent::Created(r.clone()),
                RoomEvent::Joined(r.clone(), a.clone()),
                RoomEvent::Joined(r.clone(), b.clone()),
                RoomEvent::Left(r.clone(), a.clone()),
                RoomEvent::Left(r.clone(), b.clone()),
                RoomEvent::Deleted(r.clone()),
                RoomEvent::Left(ra.clone(), a.clone()),
                RoomEvent::Deleted(ra),
            ]
        );
        assert!(rooms.room_names().next().is_none());
        assert!(rooms.sockets().next().is_none());
    }

    #[test]
    fn targets_are_members_minus_excepted_once_each() {
        let mut rooms = Rooms::new();
        let ids: Vec<SocketId> = (0..4).map(|i| SocketId::new(format!("s{i}"))).collect();
        for id in &ids {
            rooms.add_socket(id);
        }
        rooms.join(&ids[0], Room::from("a"));
        rooms.join(&ids[1], Room::from("a"));
        rooms.join(&ids[1], Room::from("b"));
        rooms.join(&ids[2], Room::from("b"));
        let t = rooms.targets(&[Room::from("a"), Room::from("b")], &[]);
        assert_eq!(t, ids[..3]);
        let t = rooms.targets(&[Room::from("a")], &[Room::from("b")]);
        assert_eq!(t, ids[..1]);
        let t = rooms.targets(&[], &[Room::from("a")]);
        assert_eq!(t, [ids[2].clone(), ids[3].clone()]);
    }

    #[test]
    fn small_sets_hold_one_element_inline_and_keep_order_and_membership() {
        let mut set = SmallSet::default();
        assert!(set.is_empty());
        assert!(set.insert(2));
        assert!(matches!(set, SmallSet::One(2)));
        assert!(!set.insert(2));
        assert!(set.insert(1));
        assert!(set.insert(3));
        assert_eq!(set.iter().copied().collect::<Vec<_>>(), [1, 2, 3]);
        assert!(set.contains(&3) && !set.contains(&4));
        assert!(set.remove(&1));
        assert!(!set.remove(&1));
        assert!(set.remove(&3));
        // Back to one element: no node kept.
        assert!(matches!(set, SmallSet::One(2)));
        assert!(set.remove(&2));
        assert!(set.is_empty());
        assert_eq!(set.iter().count(), 0);
    }
}
