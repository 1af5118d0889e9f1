//! The host figures PM2's web interface puts beside the process list, in the
//! shapes of Node's `os` module (`hostname()`, `uptime()`, `loadavg()`,
//! `totalmem()`, `freemem()`, `cpus()`, `networkInterfaces()`): sysinfo for
//! the host, `getifaddrs` for the interfaces, and, as Node reads them on
//! Linux, `/proc/stat` for the CPU times (which sysinfo does not give; zero
//! where there is no `/proc`) and cpufreq for the speed.

use serde_json::{json, Map, Value};
use std::net::IpAddr;
use sysinfo::System;

/// `{hostname, uptime}`.
pub fn system_info() -> Value {
    json!({
        "hostname": System::host_name().unwrap_or_default(),
        "uptime": System::uptime().unwrap_or(0),
    })
}

/// `{loadavg, total_mem, free_mem, cpu, interfaces}`.
pub fn monit() -> Value {
    let loadavg = System::load_average().map_or(vec![0.0; 3], |l| vec![l.one, l.five, l.fifteen]);
    let mem = pm2_proc::memory();
    let models: Vec<(String, u64)> = System::new()
        .map(|mut sys| {
            sys.refresh_cpu_list(sysinfo::CpuRefreshKind::nothing().with_frequency());
            sys.cpus()
                .iter()
                .enumerate()
                .map(|(i, c)| (c.brand().trim().to_string(), speed_mhz(i, c.frequency())))
                .collect()
        })
        .unwrap_or_default();
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    json!({
        "loadavg": loadavg,
        "total_mem": mem.total,
        "free_mem": mem.available,
        "cpu": cpus(&models, &stat),
        "interfaces": interfaces(),
    })
}

/// A CPU's speed as Node's `os.cpus()` gives it: on Linux cpufreq's current
/// frequency, 0 without cpufreq (sysinfo would fall back to /proc/cpuinfo);
/// elsewhere sysinfo's figure.
fn speed_mhz(cpu: usize, sysinfo_mhz: u64) -> u64 {
    if !cfg!(target_os = "linux") {
        return sysinfo_mhz;
    }
    std::fs::read_to_string(format!(
        "/sys/devices/system/cpu/cpu{cpu}/cpufreq/scaling_cur_freq"
    ))
    .ok()
    .and_then(|khz| khz.trim().parse::<u64>().ok())
    .map_or(0, |khz| khz / 1000)
}

/// The kernel's clock tick rate (USER_HZ), the unit of `/proc/stat`'s times.
fn clock_ticks() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let v = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(v).ok().filter(|&v| v > 0).unwrap_or(100)
}

/// One entry per CPU of `models` (brand, MHz): `model`, `speed` and `times`
/// in milliseconds, from `stat`'s `cpuN` lines (zero without them).
fn cpus(models: &[(String, u64)], stat: &str) -> Vec<Value> {
    let ms_per_tick = 1000 / clock_ticks().max(1);
    let times: Vec<Vec<u64>> = stat
        .lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .map(|line| {
            line.split_whitespace()
                .skip(1)
                .map(|v| v.parse().unwrap_or(0))
                .collect()
        })
        .collect();
    models
        .iter()
        .enumerate()
        .map(|(i, (model, speed))| {
            let field = |n: usize| {
                times.get(i).and_then(|t| t.get(n)).copied().unwrap_or(0) * ms_per_tick
            };
            json!({
                "model": model,
                "speed": speed,
                "times": {"user": field(0), "nice": field(1), "sys": field(2), "idle": field(3), "irq": field(5)},
            })
        })
        .collect()
}

fn prefix_len(mask: &IpAddr) -> u32 {
    match mask {
        IpAddr::V4(m) => u32::from(*m).count_ones(),
        IpAddr::V6(m) => u128::from(*m).count_ones(),
    }
}

/// Interface name → its addresses, as `os.networkInterfaces()` gives them.
fn interfaces() -> Map<String, Value> {
    use nix::ifaddrs::getifaddrs;
    use nix::net::if_::InterfaceFlags;
    let Ok(addrs) = getifaddrs() else {
        return Map::new();
    };
    let addrs: Vec<_> = addrs.collect();
    let mac_of = |name: &str| {
        addrs
            .iter()
            .filter(|a| a.interface_name == name)
            .find_map(|a| a.address.as_ref()?.as_link_addr()?.addr())
            .map_or("00:00:00:00:00:00".to_string(), |m| {
                m.iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<Vec<_>>()
                    .join(":")
            })
    };
    let mut out = Map::new();
    // As Node lists them: addresses of interfaces that are up and running.
    let live = InterfaceFlags::IFF_UP | InterfaceFlags::IFF_RUNNING;
    for a in addrs.iter().filter(|a| a.flags.contains(live)) {
        let (Some(addr), Some(mask)) = (a.address.as_ref(), a.netmask.as_ref()) else {
            continue;
        };
        let (ip, netmask, scope) =
            if let (Some(ip), Some(m)) = (addr.as_sockaddr_in(), mask.as_sockaddr_in()) {
                (IpAddr::V4(ip.ip()), IpAddr::V4(m.ip()), None)
            } else if let (Some(ip), Some(m)) = (addr.as_sockaddr_in6(), mask.as_sockaddr_in6()) {
                (IpAddr::V6(ip.ip()), IpAddr::V6(m.ip()), Some(ip.scope_id()))
            } else {
                continue;
            };
        let mut entry = json!({
            "address": ip.to_string(),
            "netmask": netmask.to_string(),
            "family": if ip.is_ipv4() { "IPv4" } else { "IPv6" },
            "mac": mac_of(&a.interface_name),
            "internal": a.flags.contains(InterfaceFlags::IFF_LOOPBACK),
            "cidr": format!("{ip}/{}", prefix_len(&netmask)),
        });
        if let Some(scope) = scope {
            entry["scopeid"] = json!(scope);
        }
        out.entry(a.interface_name.clone())
            .or_insert_with(|| Value::Array(Vec::new()))
            .as_array_mut()
            .expect("inserted as an array")
            .push(entry);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpus_read_like_node() {
        let stat =
            "cpu  10 0 5 100 0 1 0 0\ncpu0 4 0 2 50 0 1 0 0\ncpu1 6 0 3 50 0 0 0 0\nintr 1\n";
        let models = [
            ("Some CPU".to_string(), 2400),
            ("Some CPU".to_string(), 2400),
        ];
        let listed = cpus(&models, stat);
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0]["model"], "Some CPU");
        assert_eq!(listed[0]["speed"], 2400);
        let tick = 1000 / clock_ticks();
        assert_eq!(listed[0]["times"]["user"], json!(4 * tick));
        assert_eq!(listed[0]["times"]["irq"], json!(tick));
        assert_eq!(listed[1]["times"]["idle"], json!(50 * tick));
        // Without /proc the times are zero, the CPUs still listed.
        assert_eq!(cpus(&models, "")[1]["times"]["user"], 0);
    }

    #[test]
    fn the_host_is_named_and_has_cpus() {
        let info = system_info();
        assert!(!info["hostname"].as_str().unwrap().is_empty());
        assert!(info["uptime"].as_u64().unwrap() > 0);
        let monit = monit();
        assert!(!monit["cpu"].as_array().unwrap().is_empty());
        assert_eq!(monit["loadavg"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn the_loopback_interface_is_internal() {
        let ifs = interfaces();
        let lo = ifs.get("lo").and_then(Value::as_array).expect("lo");
        let v4 = lo.iter().find(|a| a["family"] == "IPv4").expect("lo IPv4");
        assert_eq!(v4["address"], "127.0.0.1");
        assert_eq!(v4["cidr"], "127.0.0.1/8");
        assert_eq!(v4["internal"], true);
    }
}
