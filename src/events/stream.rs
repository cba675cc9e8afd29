//! The event stream a test can wait on: every delivered event, kept in a bounded ring in
//! commit order, read by position. The registry numbers events durably (their outbox
//! number) and keeps the most recent `EVENTS_RETAINED` on disk, so positions handed out
//! before a restart still mean the same events after it.
//!
//! A position `p` means "every event numbered `p` or more"; an event's cursor is the
//! position just after it. Readers hold only a position: a slow reader costs nothing here,
//! and one that falls more than the ring behind is told its position expired. The
//! admin routes (`controls`) serve it as long-poll JSON and as Server-Sent Events.

use super::PackageEvent;
use crate::registry::{VersionChangeEvent, EVENTS_RETAINED};
use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// What an event is filtered on.
#[derive(Debug)]
struct Keys {
    domain: String,
    domain_owner: String,
    repository: String,
    format: String,
    namespace: Option<String>,
    package: String,
    version: String,
    operation: &'static str,
}

/// One delivered event: its number, what filters read, and its JSON as sent.
#[derive(Debug)]
pub struct Item {
    /// The event's outbox number; its cursor is `number + 1`.
    pub number: u64,
    keys: Keys,
    /// `{"cursor", "accounts", "event"}`: the EventBridge envelope sent to the domain
    /// owner, and every account that receives a copy.
    pub json: Bytes,
}

/// Which events a reader wants; `None` matches everything.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub domain: Option<String>,
    pub domain_owner: Option<String>,
    pub repository: Option<String>,
    pub format: Option<String>,
    /// `Some("")` asks for packages without a namespace.
    pub namespace: Option<String>,
    pub package: Option<String>,
    pub version: Option<String>,
    pub operation: Option<String>,
}

impl Filter {
    pub fn matches(&self, item: &Item) -> bool {
        let k = &item.keys;
        let is = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        is(&self.domain, &k.domain)
            && is(&self.domain_owner, &k.domain_owner)
            && is(&self.repository, &k.repository)
            && is(&self.format, &k.format)
            && is(&self.namespace, k.namespace.as_deref().unwrap_or(""))
            && is(&self.package, &k.package)
            && is(&self.version, &k.version)
            && is(&self.operation, k.operation)
    }
}

/// Why a position cannot be read.
#[derive(Debug, PartialEq, Eq)]
pub enum PositionError {
    /// Beyond the last event ever numbered: never handed out.
    Unknown { position: u64, end: u64 },
    /// Older than the oldest event kept.
    Expired { position: u64, oldest: u64 },
}

impl std::fmt::Display for PositionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PositionError::Unknown { position, end } => write!(
                f,
                "The cursor {position} does not exist: the latest cursor is {end}"
            ),
            PositionError::Expired { position, oldest } => write!(
                f,
                "The cursor {position} has expired: only the latest {EVENTS_RETAINED} events \
                 are kept, the oldest at cursor {oldest}; start again without `after`"
            ),
        }
    }
}

#[derive(Debug)]
struct Ring {
    items: VecDeque<Arc<Item>>,
    /// The first position still complete: events before it may have been dropped.
    floor: u64,
    /// The next event's number (the position after everything).
    end: u64,
}

impl Ring {
    fn check(&self, position: u64) -> Result<(), PositionError> {
        if position > self.end {
            return Err(PositionError::Unknown {
                position,
                end: self.end,
            });
        }
        if position < self.floor {
            return Err(PositionError::Expired {
                position,
                oldest: self.floor,
            });
        }
        Ok(())
    }
}

/// The shared ring, with a signal that moves when events arrive or the server stops.
#[derive(Debug)]
pub struct Stream {
    ring: Mutex<Ring>,
    capacity: usize,
    /// The end position; changes on every delivery.
    end: watch::Sender<u64>,
    closed: watch::Sender<bool>,
}

/// What a read found.
pub struct Batch {
    pub items: Vec<Arc<Item>>,
    /// Where the next read starts: after the last item scanned, matched or not.
    pub next: u64,
}

impl Stream {
    /// A stream holding `retained` (the registry's event log, oldest first) and ending at
    /// `end`, keeping at most `capacity` events.
    pub fn new(retained: Vec<VersionChangeEvent>, end: u64, capacity: usize) -> Arc<Stream> {
        let capacity = capacity.max(1);
        let full = retained.len() as u64 >= capacity as u64;
        let items: VecDeque<Arc<Item>> = retained
            .iter()
            .skip(retained.len().saturating_sub(capacity))
            .map(|change| Arc::new(item(change)))
            .collect();
        let floor = match items.front() {
            Some(first) if full => first.number,
            _ => 0,
        };
        Arc::new(Stream {
            ring: Mutex::new(Ring { items, floor, end }),
            capacity,
            end: watch::channel(end).0,
            closed: watch::channel(false).0,
        })
    }

    /// A stream kept in step with the registry's own retention.
    pub fn retained(retained: Vec<VersionChangeEvent>, end: u64) -> Arc<Stream> {
        Stream::new(
            retained,
            end,
            usize::try_from(EVENTS_RETAINED).unwrap_or(usize::MAX),
        )
    }

    /// Adds delivered events (in commit order); a redelivered one is ignored.
    pub fn push(&self, changes: &[VersionChangeEvent]) {
        let end = {
            let mut ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
            for change in changes {
                if change.cursor < ring.end {
                    continue;
                }
                ring.items.push_back(Arc::new(item(change)));
                ring.end = change.cursor + 1;
                while ring.items.len() > self.capacity {
                    ring.items.pop_front();
                    ring.floor = ring.items.front().map_or(ring.end, |i| i.number);
                }
            }
            ring.end
        };
        self.end.send_replace(end);
    }

    /// The position after every event so far.
    pub fn end(&self) -> u64 {
        self.ring.lock().unwrap_or_else(|e| e.into_inner()).end
    }

    /// The oldest position that can still be read.
    pub fn start(&self) -> u64 {
        let ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        ring.items
            .front()
            .map_or(ring.end, |i| i.number)
            .max(ring.floor)
    }

    /// Checks that `position` was handed out and is still kept.
    pub fn check(&self, position: u64) -> Result<(), PositionError> {
        self.ring
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .check(position)
    }

    /// Up to `limit` events matching `filter` from `position` on, scanning at most
    /// `scan` events (so one read holds the lock briefly).
    pub fn read(
        &self,
        position: u64,
        filter: &Filter,
        limit: usize,
        scan: usize,
    ) -> Result<Batch, PositionError> {
        let ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        ring.check(position)?;
        let first = ring.items.partition_point(|i| i.number < position);
        let mut items = Vec::new();
        let mut next = position;
        for item in ring.items.iter().skip(first).take(scan) {
            next = item.number + 1;
            if filter.matches(item) {
                items.push(Arc::clone(item));
                if items.len() >= limit {
                    break;
                }
            }
        }
        if items.len() < limit && ring.items.len() - first <= scan {
            // Everything was scanned: the reader is at the end (gaps included).
            next = next.max(ring.end);
        }
        Ok(Batch { items, next })
    }

    /// Waits until the end moves past `position` or the stream closes; `false` when closed.
    pub async fn wait_beyond(&self, position: u64) -> bool {
        let mut end = self.end.subscribe();
        let mut closed = self.closed.subscribe();
        loop {
            if *closed.borrow_and_update() {
                return false;
            }
            if *end.borrow_and_update() > position {
                return true;
            }
            tokio::select! {
                changed = end.changed() => if changed.is_err() { return false },
                changed = closed.changed() => if changed.is_err() { return false },
            }
        }
    }

    /// Ends every open read (the server is stopping).
    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    pub fn is_closed(&self) -> bool {
        *self.closed.borrow()
    }
}

fn item(change: &VersionChangeEvent) -> Item {
    let event = PackageEvent::of(change);
    let json = serde_json::json!({
        "cursor": (change.cursor + 1).to_string(),
        "accounts": event.recipients,
        "event": event.envelope(&change.domain_owner),
    });
    Item {
        number: change.cursor,
        keys: Keys {
            domain: change.domain.clone(),
            domain_owner: change.domain_owner.clone(),
            repository: change.repository.clone(),
            format: change.format.clone(),
            namespace: change.namespace.clone(),
            package: change.package.clone(),
            version: change.version.clone(),
            operation: change.operation.as_str(),
        },
        json: Bytes::from(json.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(cursor: u64, package: &str) -> VersionChangeEvent {
        VersionChangeEvent {
            package: package.into(),
            cursor,
            ..crate::events::tests::change(None, "111122223333")
        }
    }

    #[test]
    fn reads_filter_skip_ahead_and_ignore_redeliveries() {
        let stream = Stream::new(Vec::new(), 0, 100);
        stream.push(&[change(0, "a"), change(1, "b"), change(2, "a")]);
        stream.push(&[change(2, "a")]);
        let only_a = Filter {
            package: Some("a".into()),
            ..Filter::default()
        };
        let batch = stream.read(0, &only_a, 10, 1000).unwrap();
        let numbers: Vec<u64> = batch.items.iter().map(|i| i.number).collect();
        assert_eq!(numbers, [0, 2]);
        assert_eq!(batch.next, 3);
        let none = Filter {
            package: Some("z".into()),
            ..Filter::default()
        };
        assert_eq!(stream.read(0, &none, 10, 1000).unwrap().next, 3);
        assert_eq!(stream.read(1, &only_a, 1, 1000).unwrap().items[0].number, 2);
    }

    #[test]
    fn the_ring_is_bounded_and_old_or_future_positions_are_refused() {
        let stream = Stream::new(Vec::new(), 0, 2);
        stream.push(&[change(0, "a"), change(1, "a"), change(2, "a")]);
        assert_eq!(
            stream.check(4),
            Err(PositionError::Unknown {
                position: 4,
                end: 3
            })
        );
        assert_eq!(
            stream.check(0),
            Err(PositionError::Expired {
                position: 0,
                oldest: 1
            })
        );
        assert_eq!(
            stream
                .read(1, &Filter::default(), 10, 10)
                .unwrap()
                .items
                .len(),
            2
        );
        assert_eq!(stream.start(), 1);
    }

    #[test]
    fn a_restart_goes_on_from_the_retained_log() {
        let stream = Stream::new(vec![change(5, "a"), change(6, "a")], 9, 10);
        assert!(
            stream.check(2).is_ok(),
            "the log was not full: nothing expired"
        );
        let batch = stream.read(6, &Filter::default(), 10, 10).unwrap();
        assert_eq!(batch.items.len(), 1);
        assert_eq!(batch.next, 9, "gaps up to the end are skipped");
        let full = Stream::new(vec![change(5, "a"), change(6, "a")], 7, 2);
        assert!(full.check(4).is_err());
    }
}
