//! Large buffers a thread keeps for the next scopes it runs.
//!
//! A burst of children fills large lists: the scope's start list, its
//! slab's chunks, its registry lists of children and of changes. Made
//! anew for each scope, they grow by reallocation, and freeing them at the
//! end, or allocating the next ones, made glibc's allocator merge every
//! small block freed since (the children's futures and job records), so
//! the next burst's children took their blocks from the merged heap the
//! slow way rather than from its caches of small blocks: about 300
//! instructions per child in W1. Kept here, emptied, such buffers are used
//! again by the next scope that outgrows a small list.
//!
//! Only large buffers are kept (`LARGE`): small ones cost the allocator
//! little, and one made anew sits beside the scope's other new blocks.
//! Keeping those too made W3 (a tree of small scopes) 2–4% slower, though
//! it ran fewer instructions.
//!
//! A start list and a slab's chunks hold children, whose futures live for
//! the scope's borrow `'s`, so their buffers cannot be kept as they are: an
//! emptied buffer is retyped in place to a buffer of plain words of the
//! same size (`Vec`'s in-place collection keeps the allocation when the
//! layouts match, which std does without promising it: if it ever stops,
//! buffers are made anew, nothing else changes), and back when taken.
//!
//! What is kept is bounded (`KEPT` items of each kind, about 1 MiB in
//! all) and goes when the thread ends.

use std::cell::RefCell;
use std::sync::Arc;

use super::job::JobCore;

/// A buffer of three-word items, retyped.
type Words = Vec<[usize; 3]>;

/// Items of a kind a thread keeps at most, all buffers together (about
/// 384 KiB for the largest kind).
const KEPT: usize = 16 * 1024;

/// Bytes from which a buffer is worth keeping: glibc serves smaller
/// requests from its caches of small blocks without merging anything.
const LARGE: usize = 1024;

/// Slab chunks come in sizes that double, up to this many classes.
const CLASSES: usize = 12;

/// Buffers of one kind, in `N` classes (slab chunks by size, `chunk_class`;
/// one class for the lists), most recently kept last in each, under one
/// bound for the kind: their room in items.
struct Kept<T, const N: usize = 1> {
    classes: [Vec<Vec<T>>; N],
    items: usize,
}

impl<T, const N: usize> Kept<T, N> {
    const fn new() -> Self {
        Self {
            classes: [const { Vec::new() }; N],
            items: 0,
        }
    }

    /// Keeps `buffer` (empty) in `class` if it is large and the kind's
    /// room allows.
    fn keep(&mut self, class: usize, buffer: Vec<T>) {
        let room = buffer.capacity();
        if room * size_of::<T>() >= LARGE && self.items + room <= KEPT {
            self.items += room;
            self.classes[class].push(buffer);
        }
    }

    /// The buffer of `class` kept last, if it has room for `at_least`
    /// items.
    fn take(&mut self, class: usize, at_least: usize) -> Option<Vec<T>> {
        let buffers = &mut self.classes[class];
        if buffers.last()?.capacity() < at_least {
            return None;
        }
        let buffer = buffers.pop()?;
        self.items -= buffer.capacity();
        Some(buffer)
    }
}

struct Spare {
    /// Start lists.
    lists: Kept<[usize; 3]>,
    /// Slab chunks.
    chunks: Kept<[usize; 3], CLASSES>,
    /// Registry lists of children.
    children: Kept<Option<Arc<JobCore>>>,
    /// Lists of changes to the registry's lists.
    changes: Kept<usize>,
}

thread_local! {
    static SPARE: RefCell<Spare> = const {
        RefCell::new(Spare {
            lists: Kept::new(),
            chunks: Kept::new(),
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

/// Whether a buffer of `room` items of `T` is worth keeping.
#[inline]
pub(crate) fn is_large<T>(room: usize) -> bool {
    room * size_of::<T>() >= LARGE
}

/// Keeps an emptied start list for the next scope, if it is large.
pub(crate) fn keep_list<T>(list: Vec<T>) {
    if !is_large::<T>(list.capacity()) {
        return;
    }
    let Some(words) = erase(list) else { return };
    give(|spare| spare.lists.keep(0, words));
}

/// Makes room in a start list that is full and about to grow large: a
/// large list kept by an earlier scope, if it is larger, else the list
/// grows as usual.
#[cold]
#[inline(never)]
pub(crate) fn grow_list<T>(list: &mut Vec<T>) {
    let want = 2 * list.capacity();
    if let Some(words) = take(|spare| spare.lists.take(0, want)) {
        let mut room: Vec<T> = restore(words);
        room.append(list);
        *list = room;
    } else {
        list.reserve(1);
    }
}

/// The size class of a chunk of `len` slots (a power of two).
fn chunk_class(len: usize) -> Option<usize> {
    let class = len.checked_ilog2()? as usize;
    (len.is_power_of_two() && class < CLASSES).then_some(class)
}

/// Keeps a slab's chunk, all of whose slots are vacant, for the next
/// scope, if it is large.
pub(crate) fn keep_chunk<T>(chunk: Box<[T]>) {
    let Some(class) = chunk_class(chunk.len()).filter(|_| is_large::<T>(chunk.len())) else {
        return;
    };
    let Some(words) = erase(Vec::from(chunk)) else {
        return;
    };
    give(|spare| spare.chunks.keep(class, words));
}

/// An empty buffer with room for exactly `len` items, kept by an earlier
/// scope's slab, or a new one.
pub(crate) fn take_chunk<T>(len: usize) -> Vec<T> {
    let class = chunk_class(len).filter(|_| len * size_of::<T>() >= LARGE);
    let kept = class.and_then(|class| take(|spare| spare.chunks.take(class, len)));
    match kept {
        Some(words) if words.capacity() == len => restore(words),
        _ => Vec::with_capacity(len),
    }
}

/// Keeps an emptied registry list of children for the next scope, if it
/// is large.
pub(crate) fn keep_children(mut list: Vec<Option<Arc<JobCore>>>) {
    if is_large::<Option<Arc<JobCore>>>(list.capacity()) {
        list.clear();
        give(|spare| spare.children.keep(0, list));
    }
}

/// A registry list kept by an earlier scope with room for `at_least`
/// children, if any.
pub(crate) fn take_children(at_least: usize) -> Option<Vec<Option<Arc<JobCore>>>> {
    take(|spare| spare.children.take(0, at_least))
}

/// Keeps an emptied list of registry changes for the next scope, if it is
/// large.
pub(crate) fn keep_changes(mut list: Vec<usize>) {
    if is_large::<usize>(list.capacity()) {
        list.clear();
        give(|spare| spare.changes.keep(0, list));
    }
}

/// A list of registry changes kept by an earlier scope with room for
/// `at_least` changes, if any.
pub(crate) fn take_changes(at_least: usize) -> Option<Vec<usize>> {
    take(|spare| spare.changes.take(0, at_least))
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;

    use super::{KEPT, SPARE, grow_list, is_large, keep_chunk, keep_list, take_chunk};

    /// A child's shape in a start list: a job record and a boxed future
    /// that borrows from the scope.
    type Child<'s> = (Arc<u64>, Pin<Box<dyn Future<Output = ()> + Send + 's>>);

    #[test]
    fn a_large_start_list_s_buffer_is_used_again_when_a_list_outgrows_a_small_one() {
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
        // Only a list about to grow large asks (32 items: 1.5 KiB).
        assert!(!is_large::<Child<'_>>(2 * 16) && is_large::<Child<'_>>(2 * 32));
        let child = |_| -> Child<'_> { (Arc::new(2), Box::pin(async {})) };
        let mut small: Vec<Child<'_>> = (0..32).map(child).collect();
        grow_list(&mut small);
        assert_eq!((small.as_ptr() as usize, small.capacity()), (at, 100));
        assert_eq!(small.len(), 32, "what it held moved over");
    }

    #[test]
    fn a_chunk_is_used_again_only_for_its_own_size() {
        let chunk: Box<[Option<Child<'_>>]> = (0..64).map(|_| None).collect();
        let at = chunk.as_ptr() as usize;
        keep_chunk(chunk);
        assert_eq!(take_chunk::<Option<Child<'_>>>(128).capacity(), 128);
        let again = take_chunk::<Option<Child<'_>>>(64);
        assert_eq!((again.as_ptr() as usize, again.capacity()), (at, 64));
    }

    #[test]
    fn small_buffers_are_not_kept() {
        keep_list(Vec::<Child<'_>>::with_capacity(8));
        keep_chunk::<Option<Child<'_>>>((0..16).map(|_| None).collect());
        let kept = SPARE.with(|spare| {
            let spare = spare.borrow();
            spare.lists.items + spare.chunks.items
        });
        assert_eq!(kept, 0);
    }

    #[test]
    fn what_a_thread_keeps_is_bounded() {
        for _ in 0..100 {
            keep_list(Vec::<Child<'_>>::with_capacity(1000));
        }
        keep_list(Vec::<Child<'_>>::with_capacity(KEPT + 1));
        let kept = SPARE.with(|spare| {
            let spare = spare.borrow();
            (spare.lists.items, spare.lists.classes[0].len())
        });
        assert_eq!(kept, (16_000, 16), "16 lists of 1,000 fit in {KEPT} items");
    }

    #[test]
    fn chunks_of_every_size_share_one_bound() {
        for len in [64, 128, 256, 512, 1024] {
            for _ in 0..64 {
                keep_chunk::<Option<Child<'_>>>((0..len).map(|_| None).collect());
            }
        }
        let kept = SPARE.with(|spare| spare.borrow().chunks.items);
        assert!(kept <= KEPT, "{kept} slots kept");
        assert!(kept > KEPT / 2, "{kept} slots kept: the bound is used");
    }

    #[test]
    fn buffers_of_another_layout_are_not_kept() {
        keep_list(Vec::<u32>::with_capacity(1000));
        let kept = SPARE.with(|spare| spare.borrow().lists.items);
        assert_eq!(kept, 0);
    }
}
