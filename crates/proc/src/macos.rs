//! macOS: libproc (`proc_pidinfo`, `proc_listallpids`), `getsid`, and sysctl
//! (`kern.procargs2` for command lines, `hw.memsize`, `vm.page_free_count`).

use crate::{Memory, Stat};
use std::mem::{size_of, MaybeUninit};

/// Fills a libproc struct of type `T` for `pid` (`flavor`), or `None`.
fn pidinfo<T>(pid: u32, flavor: libc::c_int) -> Option<T> {
    let pid = libc::c_int::try_from(pid).ok()?;
    let mut info = MaybeUninit::<T>::zeroed();
    let size = size_of::<T>() as libc::c_int;
    // SAFETY: the buffer is `size` bytes of a plain C struct the call fills.
    let n = unsafe { libc::proc_pidinfo(pid, flavor, 0, info.as_mut_ptr().cast(), size) };
    // SAFETY: the kernel wrote the whole struct (it returns the bytes written).
    (n == size).then(|| unsafe { info.assume_init() })
}

/// Nanoseconds per Mach absolute time unit, as a fraction (1/1 on Intel,
/// 125/3 on Apple silicon). libc marks these bindings deprecated in favour of
/// the `mach2` crate; one call does not warrant another dependency.
#[allow(deprecated)]
fn timebase() -> (u64, u64) {
    let mut info = libc::mach_timebase_info { numer: 1, denom: 1 };
    // SAFETY: fills the struct it is given.
    unsafe { libc::mach_timebase_info(&mut info) };
    (u64::from(info.numer), u64::from(info.denom.max(1)))
}

pub fn stat(pid: u32) -> Option<Stat> {
    // The short BSD info still answers for a zombie; the task info does not.
    let bsd: libc::proc_bsdshortinfo = pidinfo(pid, libc::PROC_PIDT_SHORTBSDINFO)?;
    let task: Option<libc::proc_taskinfo> = pidinfo(pid, libc::PROC_PIDTASKINFO);
    // SAFETY: getsid takes any pid; -1 when there is none.
    let session = unsafe { libc::getsid(pid as libc::pid_t) };
    let (numer, denom) = timebase();
    Some(Stat {
        ppid: bsd.pbsi_ppid,
        pgrp: bsd.pbsi_pgid,
        session: u32::try_from(session).unwrap_or(0),
        cpu_ns: task.map_or(0, |t| {
            (t.pti_total_user + t.pti_total_system).saturating_mul(numer) / denom
        }),
        rss: task.map_or(0, |t| t.pti_resident_size),
        exited: bsd.pbsi_status == libc::SZOMB,
    })
}

pub fn pids() -> Vec<u32> {
    // SAFETY: with a null buffer, the call returns how many pids there are.
    let count = unsafe { libc::proc_listallpids(std::ptr::null_mut(), 0) };
    if count <= 0 {
        return Vec::new();
    }
    // Room for processes started since the count.
    let mut buf = vec![0 as libc::c_int; count as usize + 64];
    let bytes = (buf.len() * size_of::<libc::c_int>()) as libc::c_int;
    // SAFETY: the buffer holds `bytes` bytes of c_int.
    let n = unsafe { libc::proc_listallpids(buf.as_mut_ptr().cast(), bytes) };
    buf.truncate(n.max(0) as usize);
    buf.into_iter()
        .filter_map(|p| u32::try_from(p).ok())
        .filter(|&p| p > 0)
        .collect()
}

/// `kern.procargs2`: argc (a c_int), the executable path, padding NULs,
/// then argc NUL-terminated arguments, then the environment.
pub fn cmdline(pid: u32) -> Option<Vec<u8>> {
    let mut mib = [
        libc::CTL_KERN,
        libc::KERN_PROCARGS2,
        libc::c_int::try_from(pid).ok()?,
    ];
    let mut size: libc::size_t = 0;
    // SAFETY: a size query (null buffer) for a valid mib.
    let rc = unsafe {
        libc::sysctl(
            mib.as_mut_ptr(),
            3,
            std::ptr::null_mut(),
            &mut size,
            std::ptr::null_mut(),
            0,
        )
    };
    if rc != 0 || size < size_of::<libc::c_int>() {
        return None;
    }
    let mut buf = vec![0u8; size];
    // SAFETY: the buffer holds `size` bytes; the kernel writes at most that.
    let rc = unsafe {
        libc::sysctl(
            mib.as_mut_ptr(),
            3,
            buf.as_mut_ptr().cast(),
            &mut size,
            std::ptr::null_mut(),
            0,
        )
    };
    if rc != 0 {
        return None;
    }
    buf.truncate(size);
    parse_procargs(&buf)
}

fn parse_procargs(buf: &[u8]) -> Option<Vec<u8>> {
    let (argc, rest) = buf.split_at_checked(size_of::<libc::c_int>())?;
    let argc = libc::c_int::from_ne_bytes(argc.try_into().ok()?);
    // Skip the executable path and the NULs after it.
    let path_end = rest.iter().position(|&b| b == 0)?;
    let args_start = path_end + rest[path_end..].iter().position(|&b| b != 0)?;
    let mut out = Vec::new();
    let mut left = argc.max(0);
    for arg in rest[args_start..].split(|&b| b == 0) {
        if left == 0 {
            break;
        }
        out.extend_from_slice(arg);
        out.push(0);
        left -= 1;
    }
    Some(out)
}

fn sysctl_u64(name: &std::ffi::CStr) -> u64 {
    let mut value: u64 = 0;
    let mut size = size_of::<u64>();
    // SAFETY: the value buffer is `size` bytes; the name is NUL-terminated.
    let rc = unsafe {
        libc::sysctlbyname(
            name.as_ptr(),
            (&mut value as *mut u64).cast(),
            &mut size,
            std::ptr::null_mut(),
            0,
        )
    };
    match (rc, size) {
        (0, 8) => value,
        // A 32-bit value fills the low-order bytes (both macOS targets are little-endian).
        (0, 4) => value & 0xffff_ffff,
        _ => 0,
    }
}

pub fn memory() -> Memory {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(0) as u64;
    Memory {
        total: sysctl_u64(c"hw.memsize"),
        available: sysctl_u64(c"vm.page_free_count") * page,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_procargs2() {
        let mut buf = 2i32.to_ne_bytes().to_vec();
        buf.extend_from_slice(b"/usr/bin/node\0\0\0node\0app.js\0HOME=/x\0");
        assert_eq!(parse_procargs(&buf).unwrap(), b"node\0app.js\0");
        assert_eq!(parse_procargs(b"\x01"), None);
    }
}
