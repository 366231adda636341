//! The activity feed: joins and leaves, files created and deleted, comments and reviews, agent
//! status changes and alerts — bounded, newest first.

use serde::Serialize;
use std::collections::VecDeque;

/// Items kept.
pub const CAPACITY: usize = 500;

/// One line of the feed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    /// Unix seconds.
    pub at: u64,
    /// join, leave, file, review, agent, alert.
    pub kind: String,
    /// For humans.
    pub text: String,
}

/// The bounded feed.
#[derive(Debug, Default)]
pub struct Feed {
    items: VecDeque<Item>,
}

impl Feed {
    /// Adds an item; the oldest goes when full.
    pub fn push(&mut self, kind: &str, text: String) -> Item {
        let item = Item {
            at: crate::unix_now(),
            kind: kind.to_string(),
            text,
        };
        self.items.push_front(item.clone());
        self.items.truncate(CAPACITY);
        item
    }

    /// Newest first.
    pub fn items(&self) -> Vec<Item> {
        self.items.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_feed_is_bounded_and_newest_first() {
        let mut f = super::Feed::default();
        for i in 0..super::CAPACITY + 10 {
            f.push("file", format!("{i}"));
        }
        let items = f.items();
        assert_eq!(items.len(), super::CAPACITY);
        assert_eq!(items[0].text, format!("{}", super::CAPACITY + 9));
    }
}
