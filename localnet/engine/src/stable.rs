//! Stable memory: 64 KiB Wasm pages allocated on first write, with an undo journal
//! so that a trapping message is rolled back in O(pages it wrote), not O(size).

use std::collections::HashMap;

pub const WASM_PAGE: u64 = 64 * 1024;
/// 500 GiB, the IC's stable memory limit.
pub const MAX_STABLE_PAGES: u64 = 500 * 1024 * 1024 * 1024 / WASM_PAGE;

type Page = Box<[u8; WASM_PAGE as usize]>;

#[derive(Default, Clone)]
pub struct StableMemory {
    /// Index = page number; `None` = all zero.
    pages: Vec<Option<Page>>,
    size_pages: u64,
    /// Per execution: previous contents of every page written, and the size before it.
    journal: Option<Journal>,
}

#[derive(Default, Clone)]
struct Journal {
    old_pages: HashMap<u64, Option<Page>>,
    old_size: u64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum StableError {
    OutOfBounds { offset: u64, len: u64, size: u64 },
}

impl std::fmt::Display for StableError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StableError::OutOfBounds { offset, len, size } => write!(
                f,
                "stable memory out of bounds: offset {offset} + length {len} exceeds size {size} bytes"
            ),
        }
    }
}

impl StableMemory {
    pub fn size_pages(&self) -> u64 {
        self.size_pages
    }

    pub fn size_bytes(&self) -> u64 {
        self.size_pages * WASM_PAGE
    }

    /// Starts journaling the writes of one execution.
    pub fn begin(&mut self) {
        self.journal = Some(Journal { old_pages: HashMap::new(), old_size: self.size_pages });
    }

    pub fn commit(&mut self) {
        self.journal = None;
    }

    /// Undoes every write and grow since `begin`. Returns the number of pages restored.
    pub fn rollback(&mut self) -> usize {
        let Some(journal) = self.journal.take() else { return 0 };
        let restored = journal.old_pages.len();
        for (page, old) in journal.old_pages {
            self.pages[page as usize] = old;
        }
        self.size_pages = journal.old_size;
        self.pages.truncate(journal.old_size as usize);
        restored
    }

    /// Returns the old size in pages, or -1 when the limit would be exceeded.
    pub fn grow(&mut self, new_pages: u64, limit_pages: u64) -> i64 {
        let old = self.size_pages;
        match old.checked_add(new_pages) {
            Some(n) if n <= limit_pages.min(MAX_STABLE_PAGES) => {
                self.size_pages = n;
                self.pages.resize_with(n as usize, || None);
                old as i64
            }
            _ => -1,
        }
    }

    fn check(&self, offset: u64, len: u64) -> Result<(), StableError> {
        match offset.checked_add(len) {
            Some(end) if end <= self.size_bytes() => Ok(()),
            _ => Err(StableError::OutOfBounds { offset, len, size: self.size_bytes() }),
        }
    }

    pub fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), StableError> {
        self.check(offset, out.len() as u64)?;
        let mut pos = 0usize;
        while pos < out.len() {
            let abs = offset + pos as u64;
            let page = abs / WASM_PAGE;
            let in_page = (abs % WASM_PAGE) as usize;
            let n = (WASM_PAGE as usize - in_page).min(out.len() - pos);
            match &self.pages[page as usize] {
                Some(p) => out[pos..pos + n].copy_from_slice(&p[in_page..in_page + n]),
                None => out[pos..pos + n].fill(0),
            }
            pos += n;
        }
        Ok(())
    }

    pub fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), StableError> {
        self.check(offset, data.len() as u64)?;
        let mut pos = 0usize;
        while pos < data.len() {
            let abs = offset + pos as u64;
            let page = abs / WASM_PAGE;
            let in_page = (abs % WASM_PAGE) as usize;
            let n = (WASM_PAGE as usize - in_page).min(data.len() - pos);
            let slot = &mut self.pages[page as usize];
            if let Some(j) = &mut self.journal {
                // Pages added by a grow in this execution are dropped by truncation on rollback.
                if page < j.old_size {
                    j.old_pages.entry(page).or_insert_with(|| slot.clone());
                }
            }
            let p = slot.get_or_insert_with(|| Box::new([0u8; WASM_PAGE as usize]));
            p[in_page..in_page + n].copy_from_slice(&data[pos..pos + n]);
            pos += n;
        }
        Ok(())
    }

    /// A memory holding `data` (set from outside the canister, as pocket-ic's
    /// `set_stable_memory`): the fewest 64 KiB pages that hold it, the rest of the last page
    /// zero, all-zero pages left unallocated, and no open journal, so nothing can roll it back.
    /// `None` when `data` needs more than [`MAX_STABLE_PAGES`].
    pub fn from_bytes(data: &[u8]) -> Option<StableMemory> {
        let size_pages = (data.len() as u64).div_ceil(WASM_PAGE);
        if size_pages > MAX_STABLE_PAGES {
            return None;
        }
        let pages = data
            .chunks(WASM_PAGE as usize)
            .map(|chunk| {
                chunk.iter().any(|&b| b != 0).then(|| {
                    let mut page = Box::new([0u8; WASM_PAGE as usize]);
                    page[..chunk.len()].copy_from_slice(chunk);
                    page
                })
            })
            .collect();
        Some(StableMemory { pages, size_pages, journal: None })
    }

    /// The whole memory, `size_bytes()` long (pocket-ic's `get_stable_memory`).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![0u8; self.size_bytes() as usize];
        for (chunk, page) in out.chunks_mut(WASM_PAGE as usize).zip(&self.pages) {
            if let Some(p) = page {
                chunk.copy_from_slice(&p[..]);
            }
        }
        out
    }

    /// Bytes actually allocated (pages ever written), for memory accounting in benches.
    pub fn resident_bytes(&self) -> u64 {
        self.pages.iter().filter(|p| p.is_some()).count() as u64 * WASM_PAGE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grow_read_write_and_bounds() {
        let mut m = StableMemory::default();
        assert_eq!(m.grow(2, MAX_STABLE_PAGES), 0);
        assert_eq!(m.grow(1, 2), -1);
        m.write(WASM_PAGE - 2, &[1, 2, 3, 4]).unwrap();
        let mut out = [0u8; 6];
        m.read(WASM_PAGE - 3, &mut out).unwrap();
        assert_eq!(out, [0, 1, 2, 3, 4, 0]);
        assert!(m.read(2 * WASM_PAGE - 1, &mut [0u8; 2]).is_err());
        assert!(m.write(u64::MAX, &[1]).is_err());
    }

    #[test]
    fn rollback_restores_writes_and_size() {
        let mut m = StableMemory::default();
        m.grow(1, MAX_STABLE_PAGES);
        m.write(10, &[7]).unwrap();
        m.begin();
        m.write(10, &[8]).unwrap();
        m.grow(3, MAX_STABLE_PAGES);
        m.write(3 * WASM_PAGE, &[9]).unwrap();
        assert_eq!(m.rollback(), 1);
        assert_eq!(m.size_pages(), 1);
        let mut b = [0u8; 1];
        m.read(10, &mut b).unwrap();
        assert_eq!(b, [7]);
        m.begin();
        m.write(11, &[5]).unwrap();
        m.commit();
        m.read(11, &mut b).unwrap();
        assert_eq!(b, [5]);
    }

    #[test]
    fn from_bytes_rounds_up_to_whole_pages_and_to_bytes_reads_everything() {
        let mut data = vec![0u8; WASM_PAGE as usize + 3];
        data[0] = 1;
        data[WASM_PAGE as usize + 2] = 2;
        let m = StableMemory::from_bytes(&data).unwrap();
        assert_eq!(m.size_pages(), 2);
        assert_eq!(m.resident_bytes(), 2 * WASM_PAGE);
        let all = m.to_bytes();
        assert_eq!(all.len() as u64, 2 * WASM_PAGE);
        assert_eq!(&all[..data.len()], &data[..]);
        assert!(all[data.len()..].iter().all(|&b| b == 0));
        // All-zero pages stay unallocated; the empty memory has no pages.
        let sparse = StableMemory::from_bytes(&vec![0u8; 3 * WASM_PAGE as usize]).unwrap();
        assert_eq!((sparse.size_pages(), sparse.resident_bytes()), (3, 0));
        assert_eq!(StableMemory::from_bytes(&[]).unwrap().size_pages(), 0);
        assert!(StableMemory::default().to_bytes().is_empty());
        // Nothing is journaled: a rollback after the replacement restores nothing.
        let mut m = StableMemory::from_bytes(&[7]).unwrap();
        assert_eq!(m.rollback(), 0);
        let mut b = [0u8; 1];
        m.read(0, &mut b).unwrap();
        assert_eq!(b, [7]);
    }
}
