//! What reached the storage device: the block layer's own write counter.
//!
//! `/proc/thread-self/io` `write_bytes` (see `procfs.rs`) is charged to a thread when it
//! *dirties* a page in the page cache, not when the page reaches the disk: the kernel's
//! flusher threads (kworkers) write it back later, maybe seconds later, maybe never (a
//! file deleted first: `cancelled_write_bytes`). It also never includes the filesystem's
//! journal and metadata writes. The device's own statistics, `/sys/dev/block/M:m/stat`,
//! count what the block layer really sent to the device (field 7, sectors written, in
//! 512-byte units whatever the device's block size), whoever sent it: this process, a
//! kworker writing back our pages, jbd2 committing ext4's journal — and every other
//! process writing to the same device. On a shared machine that last part is noise:
//! read it as "at least this much was going on", next to the per-thread figure.
//!
//! A directory on tmpfs (or any filesystem without a block device) has no such counter:
//! its "storage" *is* the page cache, and the reading says so.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::Reading;

/// The block device holding a directory, found through its device number.
#[derive(Clone, Debug, Serialize)]
pub struct BlockDevice {
    /// The kernel's name for it, e.g. `vda` or `nvme0n1p2`.
    pub name: String,
    /// Where it sits in sysfs, e.g. `/sys/devices/pci0000:00/0000:00:02.0/virtio1/block/vda`:
    /// `virtio` there means a virtual disk, whose host decides where and when the bytes
    /// really land (and whether an fsync waits for a physical device at all).
    pub sysfs: String,
    /// The kernel's guess, from `queue/rotational`: a disk with a seek, or not.
    pub rotational: Option<bool>,
    /// `queue/write_cache`: `write back` means the device has a volatile cache, which an
    /// fsync must flush.
    pub write_cache: Option<String>,
    #[serde(skip)]
    stat: PathBuf,
}

/// Bytes the block layer had written to a device at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceWrites(u64);

impl DeviceWrites {
    /// Bytes written between `start` and `self`.
    pub fn since(&self, start: &DeviceWrites) -> u64 {
        self.0.saturating_sub(start.0)
    }
}

impl BlockDevice {
    /// The device under `path`, or why there is none to count.
    pub fn of(path: &Path) -> Reading<BlockDevice> {
        let dev = match fs::metadata(path) {
            Ok(m) => m.dev(),
            Err(e) => return Reading::Unavailable(format!("cannot stat {}: {e}", path.display())),
        };
        let (major, minor) = (libc::major(dev), libc::minor(dev));
        if major == 0 {
            return Reading::Unavailable(format!(
                "{} is on a filesystem without a block device (tmpfs?): its writes never \
                 reach a disk",
                path.display()
            ));
        }
        let sys = PathBuf::from(format!("/sys/dev/block/{major}:{minor}"));
        let stat = sys.join("stat");
        if !stat.is_file() {
            return Reading::Unavailable(format!(
                "no {} for device {major}:{minor} (device-mapper or a network filesystem?)",
                stat.display()
            ));
        }
        let real = fs::canonicalize(&sys).unwrap_or_else(|_| sys.clone());
        let name = real.file_name().map_or_else(
            || format!("{major}:{minor}"),
            |n| n.to_string_lossy().into_owned(),
        );
        // A partition's queue settings are its disk's, one directory up.
        let queue = |file: &str| {
            [
                real.join("queue").join(file),
                real.join("../queue").join(file),
            ]
            .iter()
            .find_map(|p| fs::read_to_string(p).ok())
            .map(|v| v.trim().to_owned())
        };
        Reading::Value(BlockDevice {
            name,
            sysfs: real.display().to_string(),
            rotational: queue("rotational").map(|v| v == "1"),
            write_cache: queue("write_cache"),
            stat,
        })
    }

    /// The device's write counter now.
    pub fn writes(&self) -> io::Result<DeviceWrites> {
        let text = fs::read_to_string(&self.stat)?;
        parse_sectors_written(&text)
            .map(|sectors| DeviceWrites(sectors * 512))
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("unexpected format of {}", self.stat.display()),
                )
            })
    }
}

/// The filesystem type under `path` (`ext4`, `tmpfs`, ...), from `statfs`'s magic number.
pub fn filesystem_type(path: &Path) -> Reading<String> {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return Reading::unavailable("path holds a NUL byte");
    };
    // SAFETY: statfs fills the zeroed struct; the path is NUL-terminated and outlives the call.
    let mut buf: libc::statfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statfs(c_path.as_ptr(), &mut buf) } != 0 {
        return Reading::Unavailable(format!(
            "statfs {}: {}",
            path.display(),
            io::Error::last_os_error()
        ));
    }
    // The magic numbers of linux/magic.h for the filesystems a student is likely to meet.
    let name = match buf.f_type as u64 {
        0xEF53 => "ext4 (or ext2/3)".to_owned(),
        0x0102_1994 => "tmpfs (RAM: no device under it)".to_owned(),
        0x8584_58F6 => "ramfs (RAM: no device under it)".to_owned(),
        0x5846_5342 => "xfs".to_owned(),
        0x9123_683E => "btrfs".to_owned(),
        0x794C_7630 => "overlayfs".to_owned(),
        0x6573_5546 => "fuse".to_owned(),
        0x6969 => "nfs".to_owned(),
        other => format!("unknown (statfs magic {other:#x})"),
    };
    Reading::Value(name)
}

/// The kernel's writeback settings (`/proc/sys/vm/dirty_*`): they decide when the pages an
/// `append` dirtied are written to the disk, and when a writer is made to wait for that.
pub fn writeback_settings() -> Vec<(String, Reading<String>)> {
    [
        "dirty_background_ratio",
        "dirty_background_bytes",
        "dirty_ratio",
        "dirty_bytes",
        "dirty_expire_centisecs",
        "dirty_writeback_centisecs",
    ]
    .iter()
    .map(|name| {
        let path = format!("/proc/sys/vm/{name}");
        let value = fs::read_to_string(&path).map_or_else(
            |e| Reading::Unavailable(format!("cannot read {path}: {e}")),
            |v| Reading::Value(v.trim().to_owned()),
        );
        ((*name).to_owned(), value)
    })
    .collect()
}

/// Field 7 of a block `stat` file: sectors written (Documentation/block/stat.rst).
fn parse_sectors_written(text: &str) -> Option<u64> {
    text.split_whitespace().nth(6)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sectors_written_is_the_seventh_field() {
        let stat = "  802245    24963 42762058 28089182   125058   122050 113280544   757500 \
                    0 505476 28892077 59588 77 73263792 44470 14201 923\n";
        assert_eq!(parse_sectors_written(stat), Some(113_280_544));
        assert_eq!(parse_sectors_written("1 2 3"), None);
    }

    #[test]
    fn proc_has_no_block_device() {
        let why = BlockDevice::of(Path::new("/proc"))
            .reason()
            .map(str::to_owned);
        assert!(why.is_some_and(|w| w.contains("without a block device")));
    }
}
