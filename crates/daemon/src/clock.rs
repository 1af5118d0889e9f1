//! Wall-clock time as PM2 writes it: milliseconds since the Unix epoch
//! (`pm_uptime`, `created_at`, the `at` of bus events).

/// Now, in milliseconds since the epoch; 0 if the clock is before it.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_milliseconds_since_the_epoch() {
        let before = now_ms();
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let after = now_ms();
        assert!(before <= after);
        assert!(before / 1000 <= secs && secs <= after / 1000 + 1);
    }
}
