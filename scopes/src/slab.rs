//! Where a scope keeps its children: a slab of fixed-size chunks.
//!
//! Chunks never move, so growing by a burst of children copies nothing and
//! leaves no doubling slack (a `Vec` of 100k slots would copy them all
//! about 17 times on the way up and end up to twice as large as needed).
//! Freed slots are reused, most recently freed first.

/// Slots per chunk.
const CHUNK: usize = 64;

pub(crate) struct Slab<T> {
    chunks: Vec<Box<[Option<T>]>>,
    free: Vec<usize>,
    len: usize,
}

impl<T> Slab<T> {
    pub(crate) fn new() -> Self {
        Self {
            chunks: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }

    /// Live entries.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The index the next `insert` will use.
    pub(crate) fn vacant(&mut self) -> usize {
        if let Some(&idx) = self.free.last() {
            return idx;
        }
        let idx = self.chunks.len() * CHUNK;
        self.chunks.push((0..CHUNK).map(|_| None).collect());
        self.free.extend((idx..idx + CHUNK).rev());
        idx
    }

    pub(crate) fn insert(&mut self, value: T) -> usize {
        let idx = self.vacant();
        self.free.pop();
        self.chunks[idx / CHUNK][idx % CHUNK] = Some(value);
        self.len += 1;
        idx
    }

    pub(crate) fn get_mut(&mut self, idx: usize) -> Option<&mut T> {
        self.chunks.get_mut(idx / CHUNK)?[idx % CHUNK].as_mut()
    }

    pub(crate) fn remove(&mut self, idx: usize) -> Option<T> {
        let value = self.chunks.get_mut(idx / CHUNK)?[idx % CHUNK].take()?;
        self.free.push(idx);
        self.len -= 1;
        Some(value)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flat_map(|chunk| chunk.iter().flatten())
    }

    /// Takes every entry out, leaving the slab empty.
    pub(crate) fn take_all(&mut self) -> Vec<T> {
        let taken = std::mem::take(&mut self.chunks)
            .into_iter()
            .flat_map(|chunk| chunk.into_vec().into_iter().flatten())
            .collect();
        self.free.clear();
        self.len = 0;
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::Slab;

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
}
