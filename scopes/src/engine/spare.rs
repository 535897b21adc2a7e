//! Buffers a thread keeps for the next scopes it runs.
//!
//! A scope's lists of children (its start list, its slab's chunks, its
//! list in the registry) are made and grown for each scope, and a program
//! that runs scope after scope (a scope per request, per node of a tree, a
//! benchmark's iterations) would make and free the same buffers each time.
//! Freeing a large buffer also makes glibc's allocator merge every small
//! block freed since (the children's futures and job records), and the
//! next children then take their blocks from the merged heap rather than
//! from its caches of small blocks: in W1 that cost about 300 instructions
//! per child. Kept here, emptied, they are used again.
//!
//! A start list and a slab's chunks hold children, whose futures live for
//! the scope's borrow `'s`, so their buffers cannot be kept as they are: an
//! emptied buffer is retyped in place to a buffer of plain words of the
//! same size (`Vec`'s in-place collection keeps the allocation when the
//! layouts match, which std does without promising it: if it ever stops,
//! buffers are made anew, nothing else changes), and back when taken.
//!
//! What is kept is bounded (`KEPT`): a thread that once ran a burst keeps
//! at most that much, and a larger buffer is given back.

use std::cell::RefCell;
use std::sync::Arc;

use super::job::JobCore;

/// A buffer of three-word items, retyped.
type Words = Vec<[usize; 3]>;

/// Items of a kind a thread keeps at most, all buffers together (about
/// 384 KiB for the largest kind): a burst's, or those of many small
/// scopes (a tree of scopes keeps one set per scope it runs at once).
const KEPT: usize = 16 * 1024;

/// Slab chunks come in sizes that double, up to this many classes.
const CLASSES: usize = 12;

/// Buffers of one kind, most recently kept last, and their room in items.
struct Kept<T> {
    buffers: Vec<Vec<T>>,
    items: usize,
}

impl<T> Kept<T> {
    const fn new() -> Self {
        Self {
            buffers: Vec::new(),
            items: 0,
        }
    }

    /// Keeps `buffer` (empty) if the kind's room allows.
    fn keep(&mut self, buffer: Vec<T>) {
        let room = buffer.capacity();
        if room != 0 && self.items + room <= KEPT {
            self.items += room;
            self.buffers.push(buffer);
        }
    }

    /// The buffer kept last, if any.
    fn take(&mut self) -> Option<Vec<T>> {
        let buffer = self.buffers.pop()?;
        self.items -= buffer.capacity();
        Some(buffer)
    }
}

struct Spare {
    /// Start lists.
    lists: Kept<[usize; 3]>,
    /// Slab chunks by size class (`chunk_class`).
    chunks: [Kept<[usize; 3]>; CLASSES],
    /// Registry lists of children.
    children: Kept<Option<Arc<JobCore>>>,
    /// Lists of changes to the registry's lists.
    changes: Kept<usize>,
}

thread_local! {
    static SPARE: RefCell<Spare> = const {
        RefCell::new(Spare {
            lists: Kept::new(),
            chunks: [const { Kept::new() }; CLASSES],
            children: Kept::new(),
            changes: Kept::new(),
        })
    };
}

/// Takes a buffer from this thread's spare buffers; none once the thread
/// is going away.
fn take<R>(f: impl FnOnce(&mut Spare) -> Option<R>) -> Option<R> {
    SPARE
        .try_with(|spare| f(&mut spare.borrow_mut()))
        .ok()
        .flatten()
}

/// Gives a buffer to this thread's spare buffers; once the thread is going
/// away, it is dropped.
fn give(f: impl FnOnce(&mut Spare)) {
    let _ = SPARE.try_with(|spare| f(&mut spare.borrow_mut()));
}

/// `v`, emptied, as a buffer of words, if it has their layout (else it is
/// dropped, and `None`).
fn erase<T>(mut v: Vec<T>) -> Option<Words> {
    if size_of::<T>() != size_of::<[usize; 3]>() || align_of::<T>() != align_of::<[usize; 3]>() {
        return None;
    }
    v.clear();
    let words: Words = v.into_iter().filter_map(|_| None).collect();
    (words.capacity() != 0).then_some(words)
}

/// `words` as an empty buffer of `T`, whose layout is theirs.
fn restore<T>(words: Words) -> Vec<T> {
    words.into_iter().filter_map(|_| None).collect()
}

/// Keeps an emptied start list for the next scope.
pub(crate) fn keep_list<T>(list: Vec<T>) {
    if list.capacity() == 0 {
        return;
    }
    let Some(words) = erase(list) else { return };
    give(|spare| spare.lists.keep(words));
}

/// A start list kept by an earlier scope, or a new one.
pub(crate) fn take_list<T>() -> Vec<T> {
    take(|spare| spare.lists.take()).map_or_else(Vec::new, restore)
}

/// The size class of a chunk of `len` slots (a power of two).
fn chunk_class(len: usize) -> Option<usize> {
    let class = len.checked_ilog2()? as usize;
    (len.is_power_of_two() && class < CLASSES).then_some(class)
}

/// Keeps a slab's chunk, all of whose slots are vacant, for the next scope.
pub(crate) fn keep_chunk<T>(chunk: Box<[T]>) {
    let Some(class) = chunk_class(chunk.len()) else {
        return;
    };
    let Some(words) = erase(Vec::from(chunk)) else {
        return;
    };
    give(|spare| spare.chunks[class].keep(words));
}

/// An empty buffer with room for exactly `len` items, kept by an earlier
/// scope's slab, or a new one.
pub(crate) fn take_chunk<T>(len: usize) -> Vec<T> {
    let kept = chunk_class(len).and_then(|class| take(|spare| spare.chunks[class].take()));
    match kept {
        Some(words) if words.capacity() == len => restore(words),
        _ => Vec::with_capacity(len),
    }
}

/// Keeps an emptied registry list of children for the next scope.
pub(crate) fn keep_children(mut list: Vec<Option<Arc<JobCore>>>) {
    list.clear();
    give(|spare| spare.children.keep(list));
}

/// A registry list kept by an earlier scope, if any.
pub(crate) fn take_children() -> Option<Vec<Option<Arc<JobCore>>>> {
    take(|spare| spare.children.take())
}

/// Keeps an emptied list of registry changes for the next scope.
pub(crate) fn keep_changes(mut list: Vec<usize>) {
    list.clear();
    give(|spare| spare.changes.keep(list));
}

/// A list of registry changes kept by an earlier scope, if any.
pub(crate) fn take_changes() -> Option<Vec<usize>> {
    take(|spare| spare.changes.take())
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;

    use super::{KEPT, SPARE, keep_chunk, keep_list, take_chunk, take_list};

    /// A child's shape in a start list: a job record and a boxed future
    /// that borrows from the scope.
    type Child<'s> = (Arc<u64>, Pin<Box<dyn Future<Output = ()> + Send + 's>>);

    #[test]
    fn a_start_list_s_buffer_is_used_again_by_the_next_scope() {
        let local = 7u64;
        let mut list: Vec<Child<'_>> = Vec::with_capacity(100);
        list.push((
            Arc::new(1),
            Box::pin(async {
                let _ = &local;
            }),
        ));
        let at = list.as_ptr() as usize;
        list.clear();
        keep_list(list);
        let again: Vec<Child<'_>> = take_list();
        assert_eq!((again.as_ptr() as usize, again.capacity()), (at, 100));
        assert_eq!(take_list::<Child<'_>>().capacity(), 0, "kept once");
    }

    #[test]
    fn a_chunk_is_used_again_only_for_its_own_size() {
        let chunk: Box<[Option<Child<'_>>]> = (0..64).map(|_| None).collect();
        let at = chunk.as_ptr() as usize;
        keep_chunk(chunk);
        assert_eq!(take_chunk::<Option<Child<'_>>>(32).capacity(), 32);
        let again = take_chunk::<Option<Child<'_>>>(64);
        assert_eq!((again.as_ptr() as usize, again.capacity()), (at, 64));
    }

    #[test]
    fn what_a_thread_keeps_is_bounded() {
        for _ in 0..100 {
            keep_list(Vec::<Child<'_>>::with_capacity(1000));
        }
        keep_list(Vec::<Child<'_>>::with_capacity(KEPT + 1));
        let kept = SPARE.with(|spare| {
            let spare = spare.borrow();
            (spare.lists.items, spare.lists.buffers.len())
        });
        assert_eq!(kept, (16_000, 16), "16 lists of 1,000 fit in {KEPT} items");
        let mut taken = 0;
        while take_list::<Child<'_>>().capacity() != 0 {
            taken += 1;
        }
        assert_eq!(taken, 16);
    }

    #[test]
    fn buffers_of_another_layout_are_not_kept() {
        keep_list(Vec::<u8>::with_capacity(100));
        assert_eq!(take_list::<u8>().capacity(), 0);
    }
}
