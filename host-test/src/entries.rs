//! [`Entries`]: a log streamed page by page.

use std::collections::VecDeque;

use crate::{Entry, Error, Memory};

/// Iterator returned by [`Memory::entries`].
pub struct Entries<'a> {
    memory: &'a mut Memory,
    cursor: Option<String>,
    max_bytes: u32,
    pending: VecDeque<Entry>,
    done: bool,
}

impl<'a> Entries<'a> {
    pub(crate) fn new(memory: &'a mut Memory, cursor: Option<String>, max_bytes: u32) -> Self {
        Entries {
            memory,
            cursor,
            max_bytes,
            pending: VecDeque::new(),
            done: false,
        }
    }

    /// Where the stream stands: pass it to [`Memory::entries`] later to
    /// read only what was appended since.
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }
}

impl Iterator for Entries<'_> {
    type Item = Result<Entry, Error>;

    fn next(&mut self) -> Option<Result<Entry, Error>> {
        loop {
            if let Some(entry) = self.pending.pop_front() {
                return Some(Ok(entry));
            }
            if self.done {
                return None;
            }
            match self
                .memory
                .replay_page(self.cursor.as_deref(), self.max_bytes)
            {
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Ok(page) => {
                    self.pending.extend(page.entries);
                    self.cursor = Some(page.next);
                    if page.at_end {
                        self.done = true;
                        if let Some(Err(line)) = &page.tail {
                            log::warn!("{}: {}", self.memory.location(), line.message);
                        }
                        self.pending.extend(page.tail);
                    }
                }
            }
        }
    }
}
