//! The daemon's own code pages, handed back once start-up is over.
//!
//! Most of an idle daemon's resident memory is its binary's code and
//! read-only data, paged in as it runs. Start-up touches code that never
//! runs again (reading the settings, the handover record, adoption, the
//! first sweep), and the kernel maps the neighbours of each page it faults
//! in as well (fault-around, 64 kB at a time), so after start-up nearly
//! the whole binary is resident though an idle daemon runs a small part of
//! it. Once start-up is over the daemon asks the kernel to reclaim those
//! pages (`MADV_PAGEOUT`, Linux 5.4): they are clean pages of the binary,
//! so nothing is written anywhere, and what runs later comes back on its
//! first use, as any code does. Writable segments and the relocated
//! read-only data (RELRO, private copies) are left alone.
//!
//! Elsewhere, or on a kernel without `MADV_PAGEOUT`, this does nothing.

/// How long after start-up (the daemon's first answer, `pm2-runtime`'s
/// command) it is taken as over: the command that started it has had its
/// reply by then. Sooner would page out what that first command is about to
/// run; later changes nothing but how long the process holds pages it does
/// not use.
pub const START_UP_SETTLE: std::time::Duration = std::time::Duration::from_millis(500);

/// Hands the code back once start-up has settled; must run inside the tokio
/// runtime.
pub fn release_after_start_up() {
    tokio::spawn(async {
        tokio::time::sleep(START_UP_SETTLE).await;
        release();
    });
}

/// Asks the kernel to reclaim the pages of the daemon's code and read-only
/// data; returns the bytes it asked for (0 where it cannot).
pub fn release() -> usize {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        linux::release()
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        0
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod linux {
    use std::ops::Range;

    /// The page-aligned ranges of the main program's read-only segments,
    /// minus its RELRO range (the dynamic loader wrote those pages).
    fn read_only_segments(info: &libc::dl_phdr_info, page: usize) -> Vec<Range<usize>> {
        // SAFETY: dl_iterate_phdr hands out `dlpi_phnum` program headers at `dlpi_phdr`.
        let headers =
            unsafe { std::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum as usize) };
        let base = info.dlpi_addr as usize;
        let span = |h: &libc::Elf64_Phdr| {
            let start = base + h.p_vaddr as usize;
            start..start + h.p_memsz as usize
        };
        let relro = headers
            .iter()
            .find(|h| h.p_type == libc::PT_GNU_RELRO)
            .map(span);
        headers
            .iter()
            .filter(|h| h.p_type == libc::PT_LOAD && h.p_flags & libc::PF_W == 0)
            .map(span)
            // Whole pages inside the segment only: a page it shares with a
            // neighbour may hold that neighbour's writable data.
            .map(|r| r.start.next_multiple_of(page)..r.end / page * page)
            .filter(|r| r.start < r.end)
            .filter(|r| {
                relro
                    .as_ref()
                    .is_none_or(|x| r.end <= x.start || x.end <= r.start)
            })
            .collect()
    }

    unsafe extern "C" fn main_program(
        info: *mut libc::dl_phdr_info,
        _size: libc::size_t,
        out: *mut libc::c_void,
    ) -> libc::c_int {
        // SAFETY: called by dl_iterate_phdr with a valid `info`, and `out`
        // is the Vec that `release` passed.
        unsafe {
            let out = &mut *out.cast::<Vec<Range<usize>>>();
            let page = libc::sysconf(libc::_SC_PAGESIZE).max(4096) as usize;
            *out = read_only_segments(&*info, page);
        }
        // The main program comes first: stop there.
        1
    }

    pub fn release() -> usize {
        let mut segments: Vec<Range<usize>> = Vec::new();
        // SAFETY: the callback only reads the headers and writes `segments`.
        unsafe { libc::dl_iterate_phdr(Some(main_program), (&raw mut segments).cast()) };
        let mut asked = 0;
        for r in segments {
            // SAFETY: the range is whole pages of our own read-only file
            // mappings; MADV_PAGEOUT only reclaims them, their contents
            // stay as they are.
            if unsafe { libc::madvise(r.start as *mut libc::c_void, r.len(), libc::MADV_PAGEOUT) }
                == 0
            {
                asked += r.len();
            }
        }
        asked
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn finds_the_code_of_this_program_and_hands_it_back() {
            let mut segments = Vec::new();
            // SAFETY: as in `release`.
            unsafe { libc::dl_iterate_phdr(Some(super::main_program), (&raw mut segments).cast()) };
            let here = finds_the_code_of_this_program_and_hands_it_back as fn() as usize;
            assert!(
                segments
                    .iter()
                    .any(|r: &std::ops::Range<usize>| r.contains(&here)),
                "this function's code lies in a released segment: {segments:x?}"
            );
            // The code still runs afterwards, paged in again where needed.
            super::release();
            assert_eq!(format!("{}", 6 * 7), "42");
        }
    }
}
