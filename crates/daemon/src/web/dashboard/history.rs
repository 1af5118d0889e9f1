//! The last minutes of each app's CPU and memory, for the dashboard's
//! sparklines: a fixed ring per process (120 samples of a per-mille CPU
//! figure and a memory size in KiB, 720 bytes), filled only while a page is
//! open.

use std::collections::HashMap;

/// Samples kept per process: four minutes at one sample every two seconds.
pub const SAMPLES: usize = 120;

/// One process's ring.
#[derive(Clone)]
pub struct Ring {
    /// CPU in tenths of a percent of one core (1000 = one core busy).
    cpu: [u16; SAMPLES],
    mem_kib: [u32; SAMPLES],
    /// Where the next sample goes.
    next: usize,
    len: usize,
}

impl Default for Ring {
    fn default() -> Ring {
        Ring {
            cpu: [0; SAMPLES],
            mem_kib: [0; SAMPLES],
            next: 0,
            len: 0,
        }
    }
}

impl Ring {
    pub fn push(&mut self, cpu_percent: f64, mem_bytes: u64) {
        self.cpu[self.next] = (cpu_percent * 10.0).round().clamp(0.0, u16::MAX as f64) as u16;
        self.mem_kib[self.next] = (mem_bytes / 1024).min(u32::MAX as u64) as u32;
        self.next = (self.next + 1) % SAMPLES;
        self.len = (self.len + 1).min(SAMPLES);
    }

    /// Oldest first: (CPU %, memory bytes).
    pub fn samples(&self) -> Vec<(f64, u64)> {
        let start = (self.next + SAMPLES - self.len) % SAMPLES;
        (0..self.len)
            .map(|i| {
                let at = (start + i) % SAMPLES;
                (self.cpu[at] as f64 / 10.0, self.mem_kib[at] as u64 * 1024)
            })
            .collect()
    }
}

/// Every process's ring; a process that left the list takes its ring along.
#[derive(Default)]
pub struct History {
    rings: HashMap<u64, Ring>,
}

impl History {
    /// Records one sample per process in `now` (id, CPU %, memory bytes)
    /// and forgets the processes no longer in it.
    pub fn record(&mut self, now: &[(u64, f64, u64)]) {
        self.rings
            .retain(|id, _| now.iter().any(|(i, _, _)| i == id));
        for &(id, cpu, mem) in now {
            self.rings.entry(id).or_default().push(cpu, mem);
        }
    }

    pub fn get(&self, id: u64) -> Option<&Ring> {
        self.rings.get(&id)
    }

    pub fn clear(&mut self) {
        self.rings.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ring_keeps_the_last_samples_oldest_first_within_its_bound() {
        let mut r = Ring::default();
        assert!(r.samples().is_empty());
        for i in 0..(SAMPLES as u64 + 5) {
            r.push(i as f64 / 2.0, i * 4096);
        }
        let s = r.samples();
        assert_eq!(s.len(), SAMPLES);
        assert_eq!(s[0], (2.5, 5 * 4096));
        assert_eq!(
            s[SAMPLES - 1],
            ((SAMPLES as f64 + 4.0) / 2.0, (SAMPLES as u64 + 4) * 4096)
        );
        assert!(
            std::mem::size_of::<Ring>() <= 2048,
            "{}",
            std::mem::size_of::<Ring>()
        );
    }

    #[test]
    fn a_process_gone_from_the_list_loses_its_ring() {
        let mut h = History::default();
        h.record(&[(0, 1.0, 1024), (1, 2.0, 2048)]);
        h.record(&[(1, 3.0, 4096)]);
        assert!(h.get(0).is_none());
        assert_eq!(h.get(1).unwrap().samples(), vec![(2.0, 2048), (3.0, 4096)]);
    }
}
