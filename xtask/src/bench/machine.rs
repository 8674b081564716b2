//! What the numbers were measured on: cores, CPU model, memory, OS, compiler, date, commit,
//! and how busy the machine already was.

use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    pub cores: usize,
    pub cpu_model: String,
    pub memory: String,
    pub os: String,
    pub rustc: String,
    pub date: String,
    pub commit: String,
    /// `/proc/loadavg` before the run: other work on the machine skews every figure.
    pub load_before: String,
}

impl Machine {
    pub fn describe(root: &Path) -> Machine {
        let cpuinfo = read("/proc/cpuinfo");
        let os_release = read("/etc/os-release");
        let kernel = read("/proc/sys/kernel/osrelease");
        Machine {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model: cpu_model(&cpuinfo).unwrap_or_else(|| "unknown".to_owned()),
            memory: read("/proc/meminfo")
                .lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
                .map_or_else(|| "unknown".to_owned(), format_kib),
            os: format!(
                "{}, Linux {}",
                pretty_name(&os_release).unwrap_or_else(|| "unknown".to_owned()),
                kernel.trim()
            ),
            rustc: output(Command::new("rustc").arg("--version"), root),
            date: utc_date(SystemTime::now()),
            commit: commit(root),
            load_before: read("/proc/loadavg")
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn output(command: &mut Command, dir: &Path) -> String {
    command
        .current_dir(dir)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The short commit, marked `-dirty` when the work tree has changes.
fn commit(root: &Path) -> String {
    let head = output(
        Command::new("git").args(["rev-parse", "--short=12", "HEAD"]),
        root,
    );
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .current_dir(root)
        .output()
        .is_ok_and(|o| !o.stdout.is_empty());
    if dirty {
        format!("{head}-dirty")
    } else {
        head
    }
}

fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == "model name").then(|| value.trim().to_owned())
    })
}

fn pretty_name(os_release: &str) -> Option<String> {
    let value = os_release
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))?;
    Some(value.trim_matches('"').to_owned())
}

pub fn format_kib(kib: u64) -> String {
    if kib >= 1024 * 1024 {
        format!("{:.1} GiB", kib as f64 / (1024.0 * 1024.0))
    } else {
        format!("{:.1} MiB", kib as f64 / 1024.0)
    }
}

/// `YYYY-MM-DD HH:MM UTC`.
fn utc_date(now: SystemTime) -> String {
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates_are_utc_calendar_dates() {
        assert_eq!(utc_date(UNIX_EPOCH), "1970-01-01 00:00 UTC");
        // 2000-02-29 12:34:00 UTC, a leap day.
        let leap = UNIX_EPOCH + Duration::from_secs(951_827_640);
        assert_eq!(utc_date(leap), "2000-02-29 12:34 UTC");
        // 2026-11-24 00:00 UTC.
        let later = UNIX_EPOCH + Duration::from_secs(1_795_478_400);
        assert_eq!(utc_date(later), "2026-11-24 00:00 UTC");
    }

    #[test]
    fn parses_cpuinfo_and_os_release() {
        let cpuinfo =
            "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Processor\n";
        assert_eq!(
            cpu_model(cpuinfo).as_deref(),
            Some("Intel(R) Xeon(R) Processor")
        );
        assert_eq!(cpu_model("processor: 0\n"), None);
        let os = "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n";
        assert_eq!(
            pretty_name(os).as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
    }

    #[test]
    fn memory_reads_in_binary_units() {
        assert_eq!(format_kib(24_683_520), "23.5 GiB");
        assert_eq!(format_kib(81_920), "80.0 MiB");
    }
}
