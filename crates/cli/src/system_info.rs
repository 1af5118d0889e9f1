//! What `pm2 report`'s "System info" section says about the host.

use sysinfo::System;

/// What `pm2 report`'s system section tells about the host beyond the
/// platform: PM2's fields (type, cpus, freemem, totalmem) and the OS,
/// kernel, uptime and load.
pub fn system_info() -> Vec<(&'static str, String)> {
    // uname's system name, as Node's os.type() gives it.
    let os_type = std::fs::read_to_string("/proc/sys/kernel/ostype")
        .map(|t| t.trim().to_string())
        .unwrap_or_else(|_| {
            match std::env::consts::OS {
                "macos" => "Darwin",
                "linux" => "Linux",
                other => other,
            }
            .into()
        });
    let mut info = vec![("type", os_type)];
    if let Ok(mut sys) = System::new() {
        sys.refresh_cpu_list(sysinfo::CpuRefreshKind::nothing());
        sys.refresh_memory();
        if let Some(cpu) = sys.cpus().first() {
            info.push(("cpus", cpu.brand().trim().to_string()));
        }
        info.push(("cpus nb", sys.cpus().len().to_string()));
        info.push(("freemem", sys.available_memory().to_string()));
        info.push(("totalmem", sys.total_memory().to_string()));
    }
    if let Ok(os) = System::long_os_version() {
        info.push(("os", os));
    }
    if let Ok(kernel) = System::kernel_version() {
        info.push(("kernel", kernel));
    }
    if let Ok(up) = System::uptime() {
        info.push(("uptime", format!("{}h {}m", up / 3600, up % 3600 / 60)));
    }
    if let Ok(load) = System::load_average() {
        info.push((
            "load average",
            format!("{:.2} {:.2} {:.2}", load.one, load.five, load.fifteen),
        ));
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_section_names_the_host() {
        let info: std::collections::HashMap<_, _> = system_info().into_iter().collect();
        assert_eq!(info["type"], "Linux");
        assert!(info["cpus nb"].parse::<usize>().unwrap() >= 1);
        assert!(
            info["totalmem"].parse::<u64>().unwrap() >= info["freemem"].parse::<u64>().unwrap()
        );
        assert!(info.contains_key("kernel") && info.contains_key("load average"));
    }
}
