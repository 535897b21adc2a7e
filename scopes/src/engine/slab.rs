//! Where a scope keeps its children: a slab of chunks.
//!
//! Chunks never move, so growing by a burst of children copies nothing (a
//! `Vec` of 100k slots would copy them all about 17 times on the way up and
//! end up to twice as large as needed). Chunks double from 4 slots, for
//! small scopes, up to 1024, then stay at 1024: a big burst takes few
//! allocations (each large one makes glibc's allocator sweep its caches of
//! small freed blocks) and leaves at most one chunk of slack.
//! Freed slots are reused, most recently freed first; the free list is
//! threaded through the vacant slots themselves, so freeing a burst of
//! children allocates nothing either. Chunks left vacant when a burst has
//! ended go to the thread's spare buffers, for the next scope's slab.

use super::spare;

/// Slots in the first chunk, which the slab holds in place; each next one
/// doubles, up to `LARGEST`. A scope with a few children (a scope per node
/// of a tree, a `#[scoped]` fn with a helper task) allocates no chunk.
const FIRST: usize = 4;
/// Chunks that double: 16, 32, .., 1024 slots.
const DOUBLING: usize = 9;
const LARGEST: usize = FIRST << (DOUBLING - 1);
/// Slots in the doubling chunks together.
const DOUBLED: usize = FIRST * ((1 << DOUBLING) - 1);

/// The first slot of chunk `k`, and its length.
#[inline]
fn chunk_span(k: usize) -> (usize, usize) {
    if k < DOUBLING {
        (FIRST * ((1 << k) - 1), FIRST << k)
    } else {
        (DOUBLED + (k - DOUBLING) * LARGEST, LARGEST)
    }
}

/// The chunk holding slot `idx`, and the slot's offset in it.
#[inline]
fn locate(idx: usize) -> (usize, usize) {
    if idx < DOUBLED {
        let k = (idx / FIRST + 1).ilog2() as usize;
        (k, idx - chunk_span(k).0)
    } else {
        let rest = idx - DOUBLED;
        (DOUBLING + rest / LARGEST, rest % LARGEST)
    }
}

/// End of the free list.
const NONE: usize = usize::MAX;

/// Slots an emptied slab keeps; beyond, it gives its chunks back.
const KEPT: usize = 1024;

enum Entry<T> {
    /// Free; holds the next free index.
    Vacant(usize),
    Occupied(T),
}

pub(crate) struct Slab<T> {
    /// The first chunk, in place: a scope with a few children allocates no
    /// chunk and no list of chunks.
    first: [Entry<T>; FIRST],
    /// The chunks after the first.
    chunks: Vec<Box<[Entry<T>]>>,
    /// The most recently freed slot, or `NONE`.
    next_free: usize,
    len: usize,
}

impl<T> Slab<T> {
    pub(crate) fn new() -> Self {
        Self {
            first: Self::first_chunk(),
            chunks: Vec::new(),
            next_free: 0,
            len: 0,
        }
    }

    /// The first chunk, every slot free, in order.
    fn first_chunk() -> [Entry<T>; FIRST] {
        std::array::from_fn(|idx| Entry::Vacant(if idx + 1 < FIRST { idx + 1 } else { NONE }))
    }

    /// How many chunks there are, the first included.
    fn chunk_count(&self) -> usize {
        1 + self.chunks.len()
    }

    /// The entry of slot `idx`, if its chunk exists. Slots of the first
    /// chunk (all of a small scope's) skip the chunk arithmetic.
    #[inline]
    fn entry(&self, idx: usize) -> Option<&Entry<T>> {
        if idx < FIRST {
            return self.first.get(idx);
        }
        let (k, offset) = locate(idx);
        self.chunks.get(k - 1)?.get(offset)
    }

    #[inline]
    fn entry_mut(&mut self, idx: usize) -> Option<&mut Entry<T>> {
        if idx < FIRST {
            return self.first.get_mut(idx);
        }
        let (k, offset) = locate(idx);
        self.chunks.get_mut(k - 1)?.get_mut(offset)
    }

    /// Live entries.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Slots in the chunks made so far.
    fn capacity(&self) -> usize {
        chunk_span(self.chunk_count()).0
    }

    /// Once a burst has ended (the slab is empty and holds more than
    /// `KEPT` slots), gives its chunks back and starts the free list over
    /// from slot 0: slots are reused most recently freed first, so without
    /// this a scope's next children would take the burst's highest slots,
    /// and whatever is indexed by slot (the registry's list of children)
    /// would stay as long as the burst. True if it did.
    #[inline]
    pub(crate) fn shrink_if_empty(&mut self) -> bool {
        if self.len != 0 || self.chunks.is_empty() || self.capacity() <= KEPT {
            return false;
        }
        self.shrink();
        true
    }

    #[cold]
    #[inline(never)]
    fn shrink(&mut self) {
        self.first = Self::first_chunk();
        self.give_back_chunks();
        self.next_free = 0;
    }

    /// Gives the chunks after the first, all vacant, to the thread's spare
    /// buffers, for the next scope's slab.
    fn give_back_chunks(&mut self) {
        for chunk in self.chunks.drain(..) {
            spare::keep_chunk(chunk);
        }
    }

    /// The index the next `insert` will use.
    #[inline]
    pub(crate) fn vacant(&mut self) -> usize {
        if self.next_free == NONE {
            let k = self.chunk_count();
            let (first, len) = chunk_span(k);
            let mut chunk = if spare::is_large::<Entry<T>>(len) {
                spare::take_chunk(len)
            } else {
                Vec::with_capacity(len)
            };
            chunk.extend((first..first + len).map(|idx| Entry::Vacant(idx + 1)));
            chunk[len - 1] = Entry::Vacant(NONE);
            self.chunks.push(chunk.into_boxed_slice());
            self.next_free = first;
        }
        self.next_free
    }

    #[inline]
    pub(crate) fn insert(&mut self, value: T) -> usize {
        let idx = self.vacant();
        let entry = self.entry_mut(idx).expect("a vacant slot's chunk");
        let Entry::Vacant(next) = *entry else {
            unreachable!("the free list holds only vacant slots");
        };
        *entry = Entry::Occupied(value);
        self.next_free = next;
        self.len += 1;
        idx
    }

    #[inline]
    pub(crate) fn get(&self, idx: usize) -> Option<&T> {
        match self.entry(idx)? {
            Entry::Occupied(value) => Some(value),
            Entry::Vacant(_) => None,
        }
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, idx: usize) -> Option<&mut T> {
        match self.entry_mut(idx)? {
            Entry::Occupied(value) => Some(value),
            Entry::Vacant(_) => None,
        }
    }

    #[inline]
    pub(crate) fn remove(&mut self, idx: usize) -> Option<T> {
        let next_free = self.next_free;
        let entry = self.entry_mut(idx)?;
        if let Entry::Vacant(_) = entry {
            return None;
        }
        let Entry::Occupied(value) = std::mem::replace(entry, Entry::Vacant(next_free)) else {
            unreachable!("checked above");
        };
        self.next_free = idx;
        self.len -= 1;
        Some(value)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        let chunks = std::iter::once(&self.first[..]).chain(self.chunks.iter().map(|c| &c[..]));
        chunks.flat_map(|chunk| {
            chunk.iter().filter_map(|entry| match entry {
                Entry::Occupied(value) => Some(value),
                Entry::Vacant(_) => None,
            })
        })
    }

    /// Takes every entry out, leaving the slab empty.
    pub(crate) fn take_all(&mut self) -> Vec<T> {
        if self.len == 0 {
            // The usual end of a scope: nothing left, skip the walk.
            self.first = Self::first_chunk();
            self.give_back_chunks();
            self.next_free = 0;
            return Vec::new();
        }
        let mut taken = Vec::with_capacity(self.len);
        let first = std::mem::replace(&mut self.first, Self::first_chunk());
        let rest = std::mem::take(&mut self.chunks).into_iter();
        for entry in first.into_iter().chain(rest.flat_map(Vec::from)) {
            if let Entry::Occupied(value) = entry {
                taken.push(value);
            }
        }
        self.next_free = 0;
        self.len = 0;
        taken
    }
}

/// The size of a slot of a slab of `T` (tests check that a child's slot
/// has the layout whose buffers `spare.rs` keeps).
#[cfg(test)]
pub(crate) fn slot_size<T>() -> (usize, usize) {
    (size_of::<Entry<T>>(), align_of::<Entry<T>>())
}

#[cfg(test)]
mod tests {
    use super::{DOUBLED, KEPT, LARGEST, Slab, chunk_span, locate};

    #[test]
    fn every_slot_maps_to_one_place_in_chunks_that_double_then_stay() {
        let spans: Vec<_> = (0..11).map(chunk_span).collect();
        assert_eq!(&spans[..3], [(0, 4), (4, 8), (12, 16)]);
        assert_eq!(spans[8], (1020, 1024));
        assert_eq!(spans[9], (DOUBLED, LARGEST));
        assert_eq!(spans[10], (DOUBLED + LARGEST, LARGEST));
        for (k, (first, len)) in spans.iter().copied().enumerate() {
            assert_eq!(locate(first), (k, 0));
            assert_eq!(locate(first + len - 1), (k, len - 1));
            assert_eq!(chunk_span(k + 1).0, first + len, "chunks are contiguous");
        }
    }

    #[test]
    fn reuses_freed_slots_and_keeps_entries_in_place() {
        let mut slab = Slab::new();
        let a = slab.insert("a");
        let b = slab.insert("b");
        assert_eq!((a, b, slab.len()), (0, 1, 2));
        assert_eq!(slab.remove(a), Some("a"));
        assert_eq!(slab.remove(a), None);
        assert_eq!(slab.vacant(), a);
        assert_eq!(slab.insert("c"), a);
        let many: Vec<usize> = (0..200).map(|_| slab.insert("x")).collect();
        assert_eq!(many.last(), Some(&201));
        assert_eq!(slab.get_mut(b), Some(&mut "b"));
        assert_eq!(slab.iter().count(), 202);
        assert_eq!(slab.take_all().len(), 202);
        assert_eq!(slab.len(), 0);
        assert!(slab.get_mut(b).is_none());
    }

    #[test]
    fn a_burst_of_frees_is_reused_last_freed_first_across_chunks() {
        let mut slab = Slab::new();
        let ids: Vec<usize> = (0..300).map(|i| slab.insert(i)).collect();
        assert_eq!(ids, (0..300).collect::<Vec<_>>());
        for &idx in &ids {
            assert_eq!(slab.remove(idx), Some(idx));
        }
        assert_eq!(slab.len(), 0);
        assert!(slab.get_mut(5).is_none() && slab.remove(5).is_none());
        // The free list runs through the vacant slots: newest first.
        assert_eq!(slab.insert(1000), 299);
        assert_eq!(slab.insert(1001), 298);
        assert_eq!(slab.remove(7), None);
        assert_eq!(slab.get_mut(298), Some(&mut 1001));
        assert_eq!((slab.get(299), slab.get(7)), (Some(&1000), None));
        assert_eq!(slab.iter().copied().collect::<Vec<_>>(), vec![1001, 1000]);
        assert_eq!(slab.take_all(), vec![1001, 1000]);
        assert_eq!(slab.insert(1), 0, "an emptied slab starts again from 0");
    }

    #[test]
    fn a_slab_emptied_after_a_burst_gives_its_chunks_back_and_starts_from_slot_0() {
        let mut slab = Slab::new();
        // A small scope keeps its chunks: nothing to give back.
        let few: Vec<usize> = (0..100).map(|i| slab.insert(i)).collect();
        few.iter()
            .for_each(|&idx| assert!(slab.remove(idx).is_some()));
        assert!(!slab.shrink_if_empty());
        assert_eq!(slab.insert(0), 99, "kept: last freed first");
        assert!(slab.remove(99).is_some());
        // A burst beyond KEPT slots, all ended.
        let burst: Vec<usize> = (0..3 * KEPT).map(|i| slab.insert(i)).collect();
        assert!(!slab.shrink_if_empty(), "not while children are live");
        burst
            .iter()
            .for_each(|&idx| assert!(slab.remove(idx).is_some()));
        assert!(slab.shrink_if_empty());
        assert_eq!((slab.chunk_count(), slab.len()), (1, 0));
        assert!(
            slab.get(3 * KEPT - 1).is_none(),
            "a late entry's slot is gone"
        );
        assert_eq!((slab.insert(7), slab.insert(8)), (0, 1));
        assert!(!slab.shrink_if_empty());
    }
}
