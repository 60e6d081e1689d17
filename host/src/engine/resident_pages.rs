//! Which pages of a block hold data, and acting on only those.
//!
//! A guest touches a dozen pages of a 1.1 MiB memory. Zeroing or copying the whole block
//! would make every page resident; handing it back to the kernel (`MADV_DONTNEED`) flushes
//! every core's TLB and faults each page in again on the next use. So blocks are zeroed and
//! copied page run by page run, over the pages the kernel says hold data.
//!
//! The kernel is asked with the `PAGEMAP_SCAN` ioctl on `/proc/self/pagemap` (Linux 6.7+): one
//! walk of the page tables returns the runs of pages that are present or swapped out, leaving
//! out pages that only map the shared zero page. It took half of `mincore`'s time (1.4 against
//! 3.2 µs for a 1.1 MiB memory, a one-off C loop on the README's machine; this is on every
//! spawn's path) and counts swapped-out pages, which `mincore` reports as absent though they hold data.
//! Without it (older kernels, no `/proc`), `mincore` is used when no swap is configured, and
//! nothing is trusted otherwise: callers then zero or copy everything.

use std::fs::File;
use std::ops::Range;
use std::os::fd::AsRawFd;
use std::sync::OnceLock;

use super::blocks::page_size;

/// Writes zeroes over the pages of `len` bytes at `start` that hold data, when at most
/// `max_pages` do; pages never touched read as zero already. Returns false, having written
/// nothing, when more do or this cannot be told.
///
/// # Safety
/// The range must be whole pages of one private anonymous mapping that nothing else uses.
pub(super) unsafe fn zero_resident(start: *mut u8, len: usize, max_pages: usize) -> bool {
    // SAFETY: the caller's promise.
    let Some(runs) = (unsafe { data_runs(start, len, max_pages) }) else {
        return false;
    };
    for run in runs {
        // SAFETY: pages of the caller's range.
        unsafe { std::ptr::write_bytes(start.add(run.start), 0, run.len()) };
    }
    true
}

/// Copies the pages of `len` bytes at `src` that hold data to the same offsets at `dst`,
/// whose bytes must all be zero: a page never touched reads as zero in both. Returns false,
/// having copied nothing, when this cannot be told; the caller copies everything then.
///
/// # Safety
/// `src` must be page-aligned inside a private anonymous mapping (its last page may be partly
/// used), `dst` must be valid for `len` bytes of writes, and the two must not overlap.
pub(super) unsafe fn copy_resident(src: *const u8, dst: *mut u8, len: usize) -> bool {
    // SAFETY: the caller's promise; a partly used last page is still mapped.
    let Some(runs) = (unsafe { data_runs(src, len, usize::MAX) }) else {
        return false;
    };
    for run in runs {
        let bytes = run.len().min(len - run.start);
        // SAFETY: inside the caller's two ranges, which do not overlap.
        unsafe { std::ptr::copy_nonoverlapping(src.add(run.start), dst.add(run.start), bytes) };
    }
    true
}

/// The runs of pages of `len` bytes at `start` (rounded up to whole pages) that may hold
/// data, as byte offsets from `start`; `None` when more than `limit` pages do or it cannot
/// be told.
///
/// # Safety
/// `start` must be page-aligned and the range inside one private anonymous mapping.
unsafe fn data_runs(start: *const u8, len: usize, limit: usize) -> Option<Vec<Range<usize>>> {
    let len = len.div_ceil(page_size()) * page_size();
    match pagemap() {
        // SAFETY: the caller's promise.
        Some(pagemap) => unsafe { scan(pagemap, start, len, limit) },
        None if swap_configured() => None,
        // SAFETY: the caller's promise.
        None => unsafe { mincore_runs(start, len, limit) },
    }
}

/// `/proc/self/pagemap`, when it answers `PAGEMAP_SCAN`.
fn pagemap() -> Option<&'static File> {
    static PAGEMAP: OnceLock<Option<File>> = OnceLock::new();
    PAGEMAP
        .get_or_init(|| {
            let file = File::open("/proc/self/pagemap").ok()?;
            let probe = [0u8; 1];
            let page = probe.as_ptr().map_addr(|a| a & !(page_size() - 1));
            // SAFETY: a page of this thread's stack, asked about and not changed.
            unsafe { scan(&file, page, page_size(), usize::MAX) }?;
            Some(file)
        })
        .as_ref()
}

/// `struct page_region` of `linux/fs.h`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct PageRegion {
    start: u64,
    end: u64,
    categories: u64,
}

/// `struct pm_scan_arg` of `linux/fs.h`.
#[repr(C)]
#[derive(Default)]
struct ScanArg {
    size: u64,
    flags: u64,
    start: u64,
    end: u64,
    walk_end: u64,
    vec: u64,
    vec_len: u64,
    max_pages: u64,
    category_inverted: u64,
    category_mask: u64,
    category_anyof_mask: u64,
    return_mask: u64,
}

const PAGE_IS_PRESENT: u64 = 1 << 3;
const PAGE_IS_SWAPPED: u64 = 1 << 4;
const PAGE_IS_PFNZERO: u64 = 1 << 5;
/// `_IOWR('f', 16, struct pm_scan_arg)`.
const PAGEMAP_SCAN: libc::c_ulong = (3 << 30)
    | ((size_of::<ScanArg>() as libc::c_ulong) << 16)
    | ((b'f' as libc::c_ulong) << 8)
    | 16;

/// # Safety
/// As [`data_runs`]; `len` whole pages.
unsafe fn scan(
    pagemap: &File,
    start: *const u8,
    len: usize,
    limit: usize,
) -> Option<Vec<Range<usize>>> {
    let base = start as u64;
    let end = base + len as u64;
    let mut regions = [PageRegion::default(); 32];
    let mut runs: Vec<Range<usize>> = Vec::new();
    let mut pages = 0usize;
    let mut cursor = base;
    loop {
        let mut arg = ScanArg {
            size: size_of::<ScanArg>() as u64,
            start: cursor,
            end,
            vec: regions.as_mut_ptr() as u64,
            vec_len: regions.len() as u64,
            // Stop walking once the limit is passed; 0 means no limit.
            max_pages: limit.saturating_add(1).try_into().unwrap_or(0),
            category_inverted: PAGE_IS_PFNZERO,
            category_mask: PAGE_IS_PFNZERO,
            category_anyof_mask: PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
            return_mask: PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
            ..ScanArg::default()
        };
        // SAFETY: the argument and the regions it points to outlive the call; the kernel
        // only reads the page tables of the range.
        let found = unsafe { libc::ioctl(pagemap.as_raw_fd(), PAGEMAP_SCAN, &mut arg) };
        let found = usize::try_from(found).ok()?;
        for region in &regions[..found] {
            let run = (region.start - base) as usize..(region.end - base) as usize;
            pages += run.len() / page_size();
            match runs.last_mut() {
                Some(last) if last.end == run.start => last.end = run.end,
                _ => runs.push(run),
            }
        }
        if pages > limit {
            return None;
        }
        if arg.walk_end >= end {
            return Some(runs);
        }
        cursor = arg.walk_end;
    }
}

/// The fallback: `mincore`, in windows of 4,096 pages. Only sound without swap.
///
/// # Safety
/// As [`data_runs`]; `len` whole pages.
unsafe fn mincore_runs(start: *const u8, len: usize, limit: usize) -> Option<Vec<Range<usize>>> {
    const WINDOW: usize = 4096;
    let page = page_size();
    let mut resident = [0u8; WINDOW];
    let mut runs: Vec<Range<usize>> = Vec::new();
    let mut pages = 0;
    let mut window = 0;
    while window < len / page {
        let count = (len / page - window).min(WINDOW);
        // SAFETY: inside the caller's range; the vector holds a byte per page.
        let at = unsafe { start.add(window * page) };
        if unsafe { libc::mincore(at.cast_mut().cast(), count * page, resident.as_mut_ptr()) } != 0
        {
            return None;
        }
        let mut i = 0;
        while i < count {
            i += resident[i..count]
                .iter()
                .take_while(|r| *r & 1 == 0)
                .count();
            let run = resident[i..count]
                .iter()
                .take_while(|r| *r & 1 != 0)
                .count();
            if run > 0 {
                pages += run;
                runs.push((window + i) * page..(window + i + run) * page);
                i += run;
            }
        }
        if pages > limit {
            return None;
        }
        window += count;
    }
    Some(runs)
}

fn swap_configured() -> bool {
    // SAFETY: sysinfo fills the struct it is given.
    let mut info: libc::sysinfo = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    unsafe { libc::sysinfo(&mut info) != 0 || info.totalswap > 0 }
}

#[cfg(test)]
mod tests {
    use super::super::blocks::Mapping;
    use super::*;

    type Ask = fn(*const u8, usize, usize) -> Option<Vec<Range<usize>>>;

    /// Both ways of asking, where this machine can answer them.
    fn askers() -> Vec<(&'static str, Ask)> {
        let mut askers: Vec<(&'static str, Ask)> = Vec::new();
        if pagemap().is_some() {
            askers.push(("pagemap", |s, l, m| unsafe {
                scan(pagemap().unwrap(), s, l, m)
            }));
        } else {
            eprintln!("PAGEMAP_SCAN is not answered here (Linux < 6.7?): testing mincore only");
        }
        if !swap_configured() {
            askers.push(("mincore", |s, l, m| unsafe { mincore_runs(s, l, m) }));
        }
        askers
    }

    #[test]
    fn runs_are_the_written_pages_and_not_the_zero_page() {
        let page = page_size();
        let len = 5000 * page; // past one mincore window
        let mapping = Mapping::new(len).unwrap();
        let base = mapping.base().as_ptr();
        // SAFETY: inside the mapping, which nothing else uses.
        unsafe {
            for at in [3, 4, 4200, 4999] {
                *base.add(at * page + 1) = 9;
            }
            // A read maps the shared zero page: no data there.
            assert_eq!(std::ptr::read_volatile(base.add(10 * page)), 0);
        }
        for (name, ask) in askers() {
            let runs = ask(base, len, usize::MAX).unwrap();
            let expected = [
                3 * page..5 * page,
                4200 * page..4201 * page,
                4999 * page..len,
            ];
            if name == "pagemap" {
                assert_eq!(runs, expected, "{name}");
            } else {
                // mincore counts the zero page as resident
                assert!(
                    expected.iter().all(|r| runs.contains(r)),
                    "{name}: {runs:?}"
                );
            }
            assert_eq!(
                ask(base, len, 3),
                None,
                "{name}: four pages are over a limit of 3"
            );
            assert!(ask(base, len, 5).is_some(), "{name}");
        }
    }

    #[test]
    fn zeroing_and_copying_take_only_pages_with_data() {
        let page = page_size();
        let len = 600 * page + 100; // a last page partly used
        let (from, to) = (
            Mapping::new(len + page).unwrap(),
            Mapping::new(len + page).unwrap(),
        );
        let (src, dst) = (from.base().as_ptr(), to.base().as_ptr());
        // SAFETY: both mappings hold `len + page` writable bytes and nothing else uses them.
        unsafe {
            for at in [3 * page + 1, 420 * page, len - 1] {
                *src.add(at) = 9;
            }
            if !copy_resident(src, dst, len) {
                eprintln!("residency cannot be told here (swap, no PAGEMAP_SCAN): not tested");
                return;
            }
            for at in [3 * page + 1, 420 * page, len - 1] {
                assert_eq!(*dst.add(at), 9, "byte {at} is copied");
            }
            assert_eq!(*dst.add(len), 0, "nothing past `len` is written");
            let copied = data_runs(dst, len + page, usize::MAX).unwrap();
            assert_eq!(copied.iter().map(|r| r.len() / page).sum::<usize>(), 3);

            assert!(!zero_resident(src, len + page, 2), "three pages hold data");
            assert_eq!(*src.add(420 * page), 9, "nothing was zeroed");
            assert!(zero_resident(src, len + page, 3));
            for at in [3 * page + 1, 420 * page, len - 1] {
                assert_eq!(*src.add(at), 0, "byte {at} is zeroed");
            }
        }
    }
}
