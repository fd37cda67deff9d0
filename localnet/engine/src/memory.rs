//! Wasm heap memory with cheap per-message commit and rollback.
//!
//! Every canister heap is a `MAP_PRIVATE` mapping of a memfd. The memfd holds the
//! *committed* heap (the host reads and writes it through a second, `MAP_SHARED`
//! mapping: the view); a message writes into private copy-on-write pages. Between
//! executions every private page equals the memfd. After a message, the private pages
//! (found through `/proc/self/pagemap`: a written page of a private file mapping is no
//! longer a file page) are compared with the view:
//! - commit: the pages that differ are copied into the view;
//! - rollback: the pages that differ are copied back from the view.
//!
//! The private pages stay mapped, so a page a canister writes in every message (its
//! stack, its allocator's hot pages) costs one copy-on-write fault once, not a fault, a
//! `pwrite` and a `MADV_DONTNEED` (unmap, TLB flush) per message. A private page left
//! unchanged by [`IDLE_EXECUTIONS`] executions in a row is dropped (`MADV_DONTNEED`), and
//! once a heap holds more than [`MAX_PRIVATE_PAGES`] private pages all are: the comparison
//! per message stays about the pages the canister keeps writing.
//!
//! Both cost O(private pages) plus a pagemap scan of 8 bytes per heap
//! page, instead of copying the whole heap per message (the replica does the same
//! job with page protection and a signal handler; wasmtime owns the signal handlers
//! here, so pagemap is the clean way in). Where pagemap is not available (not
//! Linux), a portable fallback keeps a full copy of the committed heap and compares.
//!
//! Wasmtime owns the `LinearMemory` object; the canister keeps a shared handle
//! (`HeapHandle`) to the same state to commit and roll back between executions,
//! never while Wasm runs.

use std::cell::RefCell;
use std::io;
use std::sync::{Arc, Mutex, OnceLock};

use wasmtime::{LinearMemory, MemoryCreator, MemoryType};

pub const OS_PAGE: usize = 4096;

/// Private (copy-on-write) pages a heap keeps mapped between executions before they are
/// dropped: 4 MiB, so the comparison after a message stays well under the cost of faulting
/// its pages in again.
pub const MAX_PRIVATE_PAGES: usize = 1024;

/// Executions in a row that leave a private page unchanged before it is dropped.
pub const IDLE_EXECUTIONS: u8 = 4;

/// Shared state of one canister heap.
pub struct HeapState {
    base: *mut u8,
    reserved: usize,
    /// Bytes currently accessible to Wasm.
    size: usize,
    /// Size of the committed heap (what the memfd holds).
    committed_size: usize,
    backing: Backing,
    /// Per heap page: executions in a row that left its private copy unchanged.
    idle: Vec<u8>,
}

// The raw pointer is only used by the owning canister's thread; wasmtime requires Send.
unsafe impl Send for HeapState {}

enum Backing {
    /// `view`: a `MAP_SHARED` mapping of the memfd of `view_len` bytes (address space; only
    /// the memfd's size is ever touched).
    Memfd { fd: libc::c_int, pagemap: std::fs::File, view: *mut u8, view_len: usize },
    /// Full copy of the committed heap; used where pagemap is unavailable.
    Shadow { committed: Vec<u8> },
    /// Handed over to a rebuilt instance ([`HeapState::detach_committed`]).
    Detached,
}

/// A committed heap handed from one instance to its rebuilt successor.
pub struct CommittedHeap {
    backing: Backing,
    committed_size: usize,
}

#[derive(Clone)]
pub struct HeapHandle(Arc<Mutex<HeapState>>);

fn pagemap_supported() -> bool {
    static SUPPORTED: OnceLock<bool> = OnceLock::new();
    *SUPPORTED.get_or_init(|| {
        if std::env::var_os("LOCALNET_HEAP_SHADOW").is_some() {
            return false;
        }
        probe_pagemap().unwrap_or(false)
    })
}

/// Checks that a written page of a private memfd mapping reads back as "not a file page".
fn probe_pagemap() -> io::Result<bool> {
    unsafe {
        let fd = libc::memfd_create(c"localnet-probe".as_ptr(), libc::MFD_CLOEXEC);
        if fd < 0 {
            return Ok(false);
        }
        let _close = CloseFd(fd);
        if libc::ftruncate(fd, (2 * OS_PAGE) as i64) != 0 {
            return Ok(false);
        }
        let p = libc::mmap(
            std::ptr::null_mut(),
            2 * OS_PAGE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE,
            fd,
            0,
        );
        if p == libc::MAP_FAILED {
            return Ok(false);
        }
        let p = p as *mut u8;
        std::ptr::read_volatile(p); // page 0: read only -> file page
        std::ptr::write_volatile(p.add(OS_PAGE), 1); // page 1: written -> anonymous
        let pagemap = std::fs::File::open("/proc/self/pagemap")?;
        let mut entries = [0u64; 2];
        read_pagemap(&pagemap, p as usize, &mut entries)?;
        libc::munmap(p as *mut _, 2 * OS_PAGE);
        Ok(!is_dirty(entries[0]) && is_dirty(entries[1]))
    }
}

struct CloseFd(libc::c_int);
impl Drop for CloseFd {
    fn drop(&mut self) {
        unsafe { libc::close(self.0) };
    }
}

const PM_PRESENT: u64 = 1 << 63;
const PM_SWAPPED: u64 = 1 << 62;
const PM_FILE: u64 = 1 << 61;

/// A page that the current execution wrote: a private (anonymous) copy, resident or swapped.
fn is_dirty(entry: u64) -> bool {
    (entry & PM_PRESENT != 0 && entry & PM_FILE == 0) || entry & PM_SWAPPED != 0
}

fn read_pagemap(pagemap: &std::fs::File, addr: usize, out: &mut [u64]) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    let bytes = unsafe { std::slice::from_raw_parts_mut(out.as_mut_ptr() as *mut u8, out.len() * 8) };
    pagemap.read_exact_at(bytes, ((addr / OS_PAGE) * 8) as u64)
}

fn os_err(what: &str) -> String {
    format!("{what}: {}", io::Error::last_os_error())
}

impl HeapState {
    fn new(min: usize, reserved: usize, adopt: Option<CommittedHeap>) -> Result<Self, String> {
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                reserved,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(os_err("reserving heap address space"));
        }
        if let Some(adopted) = adopt {
            let mut state = HeapState { base: base as *mut u8, reserved, size: 0, committed_size: 0, backing: adopted.backing, idle: Vec::new() };
            let size = adopted.committed_size.max(min);
            if let Backing::Memfd { fd, .. } = &state.backing {
                // Drop whatever a failed execution appended past the committed size.
                if unsafe { libc::ftruncate(*fd, adopted.committed_size as i64) } != 0 {
                    return Err(os_err("ftruncate heap"));
                }
            }
            state.grow_to(size)?;
            if let Backing::Shadow { committed } = &state.backing {
                let target = unsafe { std::slice::from_raw_parts_mut(state.base, committed.len()) };
                target.copy_from_slice(committed);
            }
            state.committed_size = size;
            return Ok(state);
        }
        let backing = if pagemap_supported() {
            let fd = unsafe { libc::memfd_create(c"localnet-heap".as_ptr(), libc::MFD_CLOEXEC) };
            if fd < 0 {
                return Err(os_err("memfd_create"));
            }
            let pagemap = std::fs::File::open("/proc/self/pagemap").map_err(|e| e.to_string())?;
            let view = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    reserved,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED | libc::MAP_NORESERVE,
                    fd,
                    0,
                )
            };
            if view == libc::MAP_FAILED {
                unsafe { libc::close(fd) };
                return Err(os_err("mapping the committed heap"));
            }
            Backing::Memfd { fd, pagemap, view: view as *mut u8, view_len: reserved }
        } else {
            Backing::Shadow { committed: Vec::new() }
        };
        let mut state = HeapState { base: base as *mut u8, reserved, size: 0, committed_size: 0, backing, idle: Vec::new() };
        state.grow_to(min)?;
        Ok(state)
    }

    fn grow_to(&mut self, new_size: usize) -> Result<(), String> {
        if new_size <= self.size {
            return Ok(());
        }
        if new_size > self.reserved {
            return Err("heap reservation exceeded".into());
        }
        let old = self.size;
        unsafe {
            match &self.backing {
                Backing::Memfd { fd, view_len, .. } => {
                    if new_size > *view_len {
                        return Err("heap larger than its committed view".into());
                    }
                    // The memfd only ever grows here; pages past the committed size are zero.
                    if libc::ftruncate(*fd, new_size as i64) != 0 {
                        return Err(os_err("ftruncate heap"));
                    }
                    let p = libc::mmap(
                        self.base.add(old) as *mut _,
                        new_size - old,
                        libc::PROT_READ | libc::PROT_WRITE,
                        libc::MAP_PRIVATE | libc::MAP_FIXED,
                        *fd,
                        old as i64,
                    );
                    if p == libc::MAP_FAILED {
                        return Err(os_err("mapping heap"));
                    }
                }
                Backing::Detached => return Err("the heap was detached".into()),
                Backing::Shadow { .. } => {
                    if libc::mprotect(self.base.add(old) as *mut _, new_size - old, libc::PROT_READ | libc::PROT_WRITE)
                        != 0
                    {
                        return Err(os_err("mprotect heap"));
                    }
                }
            }
        }
        self.size = new_size;
        Ok(())
    }

    /// Runs of dirty OS pages as (first page, count), within the accessible size.
    fn dirty_runs(&self) -> io::Result<Vec<(usize, usize)>> {
        let Backing::Memfd { pagemap, .. } = &self.backing else { unreachable!("pagemap scan without a memfd") };
        let pages = self.size / OS_PAGE;
        let mut runs = Vec::new();
        let mut entries = vec![0u64; pages.min(32 * 1024)];
        let mut start = 0;
        while start < pages {
            let n = (pages - start).min(entries.len());
            read_pagemap(pagemap, self.base as usize + start * OS_PAGE, &mut entries[..n])?;
            for (i, e) in entries[..n].iter().enumerate() {
                if is_dirty(*e) {
                    let page = start + i;
                    match runs.last_mut() {
                        Some((first, count)) if *first + *count == page => *count += 1,
                        _ => runs.push((page, 1)),
                    }
                }
            }
            start += n;
        }
        Ok(runs)
    }

    fn discard_pages(&self, first: usize, count: usize) {
        let r = unsafe {
            libc::madvise(self.base.add(first * OS_PAGE) as *mut _, count * OS_PAGE, libc::MADV_DONTNEED)
        };
        assert_eq!(r, 0, "{}", os_err("madvise heap"));
    }

    /// The private page `page` and its committed copy in the view (within the memfd's size,
    /// which is at least `self.size`).
    fn page_pair(&self, view: *mut u8, page: usize) -> (&mut [u8], &mut [u8]) {
        debug_assert!((page + 1) * OS_PAGE <= self.size);
        unsafe {
            (
                std::slice::from_raw_parts_mut(self.base.add(page * OS_PAGE), OS_PAGE),
                std::slice::from_raw_parts_mut(view.add(page * OS_PAGE), OS_PAGE),
            )
        }
    }

    /// Copies every private page that differs from the memfd one way (`to_view`: into the
    /// memfd; else back into the mapping); drops the private pages when there are too many.
    /// Returns the pages that differed.
    fn sync_private_pages(&mut self, to_view: bool) -> usize {
        let Backing::Memfd { view, .. } = &self.backing else { unreachable!("sync without a memfd") };
        let view = *view;
        let runs = self.dirty_runs().expect("reading /proc/self/pagemap");
        let mut idle = std::mem::take(&mut self.idle);
        idle.resize(self.size / OS_PAGE, 0);
        let mut changed = 0;
        let mut private = 0;
        // Runs of pages idle for long enough, to drop.
        let mut cold: Vec<(usize, usize)> = Vec::new();
        for &(first, count) in &runs {
            for page in first..first + count {
                let (current, committed) = self.page_pair(view, page);
                if current != committed {
                    if to_view {
                        committed.copy_from_slice(current);
                    } else {
                        current.copy_from_slice(committed);
                    }
                    changed += 1;
                    idle[page] = 0;
                } else {
                    idle[page] += 1;
                    if idle[page] >= IDLE_EXECUTIONS {
                        idle[page] = 0;
                        match cold.last_mut() {
                            Some((f, c)) if *f + *c == page => *c += 1,
                            _ => cold.push((page, 1)),
                        }
                    }
                }
            }
            private += count;
        }
        if private > MAX_PRIVATE_PAGES {
            for &(first, count) in &runs {
                self.discard_pages(first, count);
                idle[first..first + count].fill(0);
            }
        } else {
            for &(first, count) in &cold {
                self.discard_pages(first, count);
            }
        }
        self.idle = idle;
        changed
    }

    /// Makes the current heap the committed one. Returns the number of OS pages changed.
    pub fn commit(&mut self) -> usize {
        match &mut self.backing {
            Backing::Memfd { .. } => {
                let dirty = self.sync_private_pages(true);
                self.committed_size = self.size;
                dirty
            }
            Backing::Shadow { committed } => {
                let current = unsafe { std::slice::from_raw_parts(self.base, self.size) };
                committed.resize(current.len(), 0);
                let mut dirty = 0;
                for (c, n) in committed.chunks_mut(OS_PAGE).zip(current.chunks(OS_PAGE)) {
                    if c != n {
                        c.copy_from_slice(n);
                        dirty += 1;
                    }
                }
                self.committed_size = self.size;
                dirty
            }
            Backing::Detached => unreachable!("a detached heap is never committed"),
        }
    }

    /// Restores the committed contents, provided the accessible size did not change
    /// (a shrink cannot be expressed to wasmtime; the caller rebuilds the instance then).
    pub fn rollback_in_place(&mut self) -> usize {
        assert_eq!(self.size, self.committed_size, "rollback_in_place after a memory.grow");
        match &self.backing {
            Backing::Memfd { .. } => self.sync_private_pages(false),
            Backing::Shadow { committed } => {
                let current = unsafe { std::slice::from_raw_parts_mut(self.base, self.size) };
                let mut dirty = 0;
                for (c, n) in committed.chunks(OS_PAGE).zip(current.chunks_mut(OS_PAGE)) {
                    if c != n {
                        n.copy_from_slice(c);
                        dirty += 1;
                    }
                }
                dirty
            }
            Backing::Detached => unreachable!("a detached heap is never rolled back"),
        }
    }

    /// The committed heap, read from the backing store.
    pub fn committed_bytes(&self) -> Vec<u8> {
        match &self.backing {
            Backing::Memfd { fd, .. } => {
                let mut out = vec![0u8; self.committed_size];
                let mut done = 0;
                while done < out.len() {
                    let r = unsafe {
                        libc::pread(*fd, out[done..].as_mut_ptr() as *mut _, out.len() - done, done as i64)
                    };
                    assert!(r > 0, "{}", os_err("reading heap"));
                    done += r as usize;
                }
                out
            }
            Backing::Shadow { committed } => committed[..self.committed_size].to_vec(),
            Backing::Detached => unreachable!("a detached heap is never read"),
        }
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// OS pages changed since the last commit (including pages added by a grow).
    pub fn dirty_page_count(&self) -> usize {
        match &self.backing {
            Backing::Memfd { view, .. } => {
                let runs = self.dirty_runs().expect("reading /proc/self/pagemap");
                let view = *view;
                let changed = runs
                    .iter()
                    .flat_map(|&(first, count)| first..first + count)
                    .filter(|&page| page * OS_PAGE >= self.committed_size || {
                        let (current, committed) = self.page_pair(view, page);
                        current != committed
                    })
                    .count();
                changed
            }
            Backing::Shadow { committed } => {
                let current = unsafe { std::slice::from_raw_parts(self.base, self.size) };
                let changed = committed.chunks(OS_PAGE).zip(current.chunks(OS_PAGE)).filter(|(c, n)| c != n).count();
                changed + (self.size.saturating_sub(committed.len())).div_ceil(OS_PAGE)
            }
            Backing::Detached => 0,
        }
    }

    /// Hands the committed heap (the memfd, or the shadow copy) over for a rebuilt
    /// instance; this state becomes unusable and is dropped with its old instance.
    pub fn detach_committed(&mut self) -> CommittedHeap {
        CommittedHeap { backing: std::mem::replace(&mut self.backing, Backing::Detached), committed_size: self.committed_size }
    }

    pub fn committed_size(&self) -> usize {
        self.committed_size
    }
}

impl Drop for HeapState {
    fn drop(&mut self) {
        unsafe {
            libc::munmap(self.base as *mut _, self.reserved);
            if let Backing::Memfd { fd, view, view_len, .. } = self.backing {
                libc::munmap(view as *mut _, view_len);
                libc::close(fd);
            }
        }
    }
}

impl HeapHandle {
    pub fn lock(&self) -> std::sync::MutexGuard<'_, HeapState> {
        self.0.lock().expect("heap lock")
    }

    /// Replaces the committed contents (snapshot load, rebuild after rollback) and
    /// makes the mapping show them. `bytes.len()` must equal the accessible size.
    pub fn load_committed(&self, bytes: &[u8]) {
        let mut s = self.lock();
        assert_eq!(bytes.len(), s.size, "load_committed size mismatch");
        let target = unsafe { std::slice::from_raw_parts_mut(s.base, s.size) };
        target.copy_from_slice(bytes);
        s.commit();
    }
}

/// Wasm memory object handed to wasmtime; forwards to the shared state.
struct CanisterLinearMemory {
    state: HeapHandle,
}

unsafe impl LinearMemory for CanisterLinearMemory {
    fn byte_size(&self) -> usize {
        self.state.lock().size
    }
    fn byte_capacity(&self) -> usize {
        self.state.lock().reserved
    }
    fn grow_to(&mut self, new_size: usize) -> wasmtime::Result<()> {
        self.state.lock().grow_to(new_size).map_err(wasmtime::Error::msg)
    }
    fn as_ptr(&self) -> *mut u8 {
        self.state.lock().base
    }
}

thread_local! {
    /// The heap created by the most recent instantiation on this thread.
    static LAST_CREATED: RefCell<Option<HeapHandle>> = const { RefCell::new(None) };
    /// A committed heap the next memory creation on this thread takes over.
    static ADOPT: RefCell<Option<CommittedHeap>> = const { RefCell::new(None) };
}

/// Makes the next memory created on this thread start from `heap` (its committed size and
/// contents) instead of an empty memory. Cleared by [`take_created_heap`].
pub fn adopt_on_next_creation(heap: CommittedHeap) {
    ADOPT.with(|a| *a.borrow_mut() = Some(heap));
}

/// Takes the heap handle of the memory created by the instantiation that just ran.
pub fn take_created_heap() -> Option<HeapHandle> {
    ADOPT.with(|a| a.borrow_mut().take());
    LAST_CREATED.with(|c| c.borrow_mut().take())
}

pub struct HeapCreator;

unsafe impl MemoryCreator for HeapCreator {
    fn new_memory(
        &self,
        ty: MemoryType,
        minimum: usize,
        _maximum: Option<usize>,
        reserved_size_in_bytes: Option<usize>,
        guard_size_in_bytes: usize,
    ) -> Result<Box<dyn LinearMemory>, String> {
        if ty.is_64() {
            return Err("64-bit memories are not supported by localnet".into());
        }
        let reserved = reserved_size_in_bytes.unwrap_or(4 << 30) + guard_size_in_bytes;
        let adopt = ADOPT.with(|a| a.borrow_mut().take());
        let state = HeapHandle(Arc::new(Mutex::new(HeapState::new(minimum, reserved, adopt)?)));
        LAST_CREATED.with(|c| *c.borrow_mut() = Some(state.clone()));
        Ok(Box::new(CanisterLinearMemory { state }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(h: &HeapHandle, off: usize, v: u8) {
        let s = h.lock();
        unsafe { *s.base.add(off) = v };
    }
    fn read(h: &HeapHandle, off: usize) -> u8 {
        let s = h.lock();
        unsafe { *s.base.add(off) }
    }

    fn new_heap(min: usize) -> HeapHandle {
        HeapHandle(Arc::new(Mutex::new(HeapState::new(min, 1 << 30, None).unwrap())))
    }

    #[test]
    fn commit_keeps_and_rollback_discards_writes() {
        let h = new_heap(16 * OS_PAGE);
        write(&h, 5, 7);
        write(&h, 3 * OS_PAGE + 1, 9);
        assert_eq!(h.lock().commit(), 2);
        assert_eq!(read(&h, 5), 7);
        write(&h, 5, 8);
        write(&h, 10 * OS_PAGE, 1);
        assert_eq!(h.lock().rollback_in_place(), 2);
        assert_eq!(read(&h, 5), 7);
        assert_eq!(read(&h, 10 * OS_PAGE), 0);
        assert_eq!(read(&h, 3 * OS_PAGE + 1), 9);
        // Nothing written since: commit finds nothing.
        assert_eq!(h.lock().commit(), 0);
        let bytes = h.lock().committed_bytes();
        assert_eq!((bytes[5], bytes[3 * OS_PAGE + 1], bytes.len()), (7, 9, 16 * OS_PAGE));
    }

    #[test]
    fn a_detached_heap_is_adopted_with_its_committed_contents() {
        let h = new_heap(4 * OS_PAGE);
        write(&h, 2 * OS_PAGE, 9);
        h.lock().commit();
        h.lock().grow_to(8 * OS_PAGE).unwrap();
        write(&h, 6 * OS_PAGE, 1); // an uncommitted grow and write
        let committed = h.lock().detach_committed();
        let adopted = HeapHandle(Arc::new(Mutex::new(HeapState::new(OS_PAGE, 1 << 30, Some(committed)).unwrap())));
        let sizes = {
            let a = adopted.lock();
            (a.size(), a.committed_size())
        };
        assert_eq!(sizes, (4 * OS_PAGE, 4 * OS_PAGE));
        assert_eq!(read(&adopted, 2 * OS_PAGE), 9);
        adopted.lock().grow_to(8 * OS_PAGE).unwrap();
        assert_eq!(read(&adopted, 6 * OS_PAGE), 0, "the uncommitted write is gone");
    }

    fn private_pages(h: &HeapHandle) -> usize {
        h.lock().dirty_runs().unwrap().iter().map(|r| r.1).sum()
    }

    #[test]
    fn a_page_written_by_every_message_stays_mapped_and_exact() {
        if !pagemap_supported() {
            return; // the shadow copy keeps no private pages
        }
        let h = new_heap(8 * OS_PAGE);
        write(&h, OS_PAGE, 1);
        assert_eq!(h.lock().commit(), 1);
        // Kept mapped after the commit: the next message writes it without a fault.
        assert_eq!(private_pages(&h), 1);
        write(&h, OS_PAGE, 2);
        assert_eq!(h.lock().rollback_in_place(), 1);
        assert_eq!(read(&h, OS_PAGE), 1, "rolled back to the committed value");
        write(&h, OS_PAGE, 1); // the committed value again: nothing changed
        assert_eq!(h.lock().commit(), 0);
        write(&h, OS_PAGE, 3);
        write(&h, 2 * OS_PAGE, 4);
        assert_eq!(h.lock().commit(), 2);
        let bytes = h.lock().committed_bytes();
        assert_eq!((bytes[OS_PAGE], bytes[2 * OS_PAGE]), (3, 4));
        assert_eq!(h.lock().dirty_page_count(), 0, "nothing changed since the commit");
        write(&h, 2 * OS_PAGE, 5);
        assert_eq!(h.lock().dirty_page_count(), 1);
    }

    #[test]
    fn a_private_page_left_unchanged_is_dropped_after_some_executions() {
        if !pagemap_supported() {
            return;
        }
        let h = new_heap(8 * OS_PAGE);
        write(&h, 0, 1);
        write(&h, OS_PAGE, 1);
        assert_eq!(h.lock().commit(), 2);
        // Page 0 changes in every execution, page 1 never again.
        for n in 0..IDLE_EXECUTIONS {
            assert_eq!(private_pages(&h), 2, "after {n} executions");
            write(&h, 0, n + 2);
            assert_eq!(h.lock().commit(), 1);
        }
        assert_eq!(private_pages(&h), 1, "the idle page is dropped, the busy one kept");
        assert_eq!((read(&h, 0), read(&h, OS_PAGE)), (IDLE_EXECUTIONS + 1, 1));
        let bytes = h.lock().committed_bytes();
        assert_eq!((bytes[0], bytes[OS_PAGE]), (IDLE_EXECUTIONS + 1, 1));
    }

    #[test]
    fn private_pages_past_the_bound_are_dropped_after_the_commit() {
        if !pagemap_supported() {
            return;
        }
        let pages = MAX_PRIVATE_PAGES + 1;
        let h = new_heap(pages * OS_PAGE);
        for p in 0..pages {
            write(&h, p * OS_PAGE, (p % 251) as u8 + 1);
        }
        assert_eq!(h.lock().commit(), pages);
        assert_eq!(private_pages(&h), 0, "dropped: the mapping shows the memfd again");
        assert!((0..pages).all(|p| read(&h, p * OS_PAGE) == (p % 251) as u8 + 1));
        write(&h, 0, 0);
        assert_eq!(h.lock().rollback_in_place(), 1);
        assert_eq!(read(&h, 0), 1);
    }

    #[test]
    fn grow_then_commit_and_load() {
        let h = new_heap(OS_PAGE);
        h.lock().grow_to(4 * OS_PAGE).unwrap();
        write(&h, 3 * OS_PAGE, 4);
        h.lock().commit();
        assert_eq!(h.lock().committed_size(), 4 * OS_PAGE);
        let mut image = vec![0u8; 4 * OS_PAGE];
        image[0] = 42;
        h.load_committed(&image);
        assert_eq!((read(&h, 0), read(&h, 3 * OS_PAGE)), (42, 0));
    }
}
