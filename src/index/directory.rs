//! An index directory on disk: files readable as the umask says, and `--rebuild` built aside
//! then swapped in.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tantivy::directory::error::{DeleteError, LockError, OpenReadError, OpenWriteError};
use tantivy::directory::{
    Directory, DirectoryLock, FileHandle, INDEX_WRITER_LOCK, MmapDirectory, WatchCallback,
    WatchHandle, WritePtr,
};

use super::IndexError;
use crate::error::Error;

/// tantivy's [`MmapDirectory`], except that files replaced atomically (`meta.json`,
/// `.managed.json`) are created like every other file, with the permissions the umask leaves
/// (0644 typically). tantivy writes them through a temporary file created 0600, so a user who
/// may read the index but is not its owner could not open it.
#[derive(Clone, Debug)]
pub(crate) struct UmaskDirectory {
    inner: MmapDirectory,
    root: PathBuf,
}

impl UmaskDirectory {
    pub fn open(root: &Path) -> Result<UmaskDirectory, Error> {
        let inner = MmapDirectory::open(root).map_err(|e| IndexError::open(root, e))?;
        Ok(UmaskDirectory { inner, root: root.to_path_buf() })
    }
}

impl Directory for UmaskDirectory {
    fn get_file_handle(&self, path: &Path) -> Result<Arc<dyn FileHandle>, OpenReadError> {
        self.inner.get_file_handle(path)
    }

    fn delete(&self, path: &Path) -> Result<(), DeleteError> {
        self.inner.delete(path)
    }

    fn exists(&self, path: &Path) -> Result<bool, OpenReadError> {
        self.inner.exists(path)
    }

    fn open_write(&self, path: &Path) -> Result<WritePtr, OpenWriteError> {
        self.inner.open_write(path)
    }

    fn atomic_read(&self, path: &Path) -> Result<Vec<u8>, OpenReadError> {
        self.inner.atomic_read(path)
    }

    fn atomic_write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        // As tantivy does it (a temporary file in the same directory, synced, renamed over the
        // target), but created by `OpenOptions`, whose mode is 0666 less the umask.
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let target = self.root.join(path);
        let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let temp = self.root.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
        let write = || -> io::Result<()> {
            let mut f = OpenOptions::new().write(true).create_new(true).open(&temp)?;
            f.write_all(data)?;
            f.sync_data()?;
            fs::rename(&temp, &target)
        };
        write().inspect_err(|_| {
            let _ = fs::remove_file(&temp);
        })
    }

    fn sync_directory(&self) -> io::Result<()> {
        self.inner.sync_directory()
    }

    fn acquire_lock(&self, lock: &tantivy::directory::Lock) -> Result<DirectoryLock, LockError> {
        self.inner.acquire_lock(lock)
    }

    fn watch(&self, watch_callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        self.inner.watch(watch_callback)
    }
}

/// A `--rebuild` in progress: the new index is written into a sibling directory
/// (`IDX.rebuilding`) while `IDX` stays as it was, searchable, and locked against other
/// writers; [`Rebuild::swap`] puts the new one in its place. A run killed before the swap
/// leaves `IDX` untouched (the next rebuild removes the partial sibling).
pub(crate) struct Rebuild {
    target: PathBuf,
    aside: PathBuf,
    replaced: PathBuf,
    /// The writer lock of the old index, held until the swap.
    lock: Option<DirectoryLock>,
}

impl Rebuild {
    /// Prepares a rebuild of `target`: refuses a directory that holds something else than an
    /// index (a rebuild replaces the whole directory), takes its writer lock, and clears what
    /// a killed rebuild left.
    pub fn start(target: &Path) -> Result<Rebuild, Error> {
        let sibling = |suffix: &str| {
            let mut name = target.file_name().unwrap_or_default().to_os_string();
            name.push(suffix);
            target.with_file_name(name)
        };
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { path, source }
        };
        let mut lock = None;
        if target.exists() {
            let empty = fs::read_dir(target).map_err(io_err(target))?.next().is_none();
            if !empty && !target.join("meta.json").exists() {
                return Err(Error::Input {
                    path: target.to_path_buf(),
                    message: "holds no index: --rebuild replaces the whole directory, so it only \
                              replaces an index or an empty directory"
                        .into(),
                });
            }
            let dir = MmapDirectory::open(target).map_err(|e| IndexError::open(target, e))?;
            let held = dir.acquire_lock(&INDEX_WRITER_LOCK).map_err(|e| IndexError::Busy {
                path: target.to_path_buf(),
                message: e.to_string(),
            })?;
            lock = Some(held);
        }
        let r = Rebuild {
            target: target.to_path_buf(),
            aside: sibling(".rebuilding"),
            replaced: sibling(".replaced"),
            lock,
        };
        for stale in [&r.aside, &r.replaced] {
            if stale.exists() {
                fs::remove_dir_all(stale).map_err(io_err(stale))?;
            }
        }
        fs::create_dir(&r.aside).map_err(io_err(&r.aside))?;
        Ok(r)
    }

    /// Where the new index is written.
    pub fn dir(&self) -> &Path {
        &self.aside
    }

    /// Puts the new index in place of the old: the old directory is renamed aside, the new one
    /// renamed in, then the old one removed. Between the two renames (microseconds) the
    /// directory does not exist and a search opening it then fails; one that has it open goes
    /// on reading the old files until it reloads. Returns a warning when the old directory
    /// could not be removed.
    pub fn swap(mut self) -> Result<Option<String>, Error> {
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { path, source }
        };
        if !self.target.exists() {
            fs::rename(&self.aside, &self.target).map_err(io_err(&self.target))?;
            sync_parent(&self.target);
            return Ok(None);
        }
        fs::rename(&self.target, &self.replaced).map_err(io_err(&self.target))?;
        if let Err(e) = fs::rename(&self.aside, &self.target) {
            // Put the old index back: a failed swap must not lose it.
            let _ = fs::rename(&self.replaced, &self.target);
            return Err(io_err(&self.target)(e));
        }
        sync_parent(&self.target);
        drop(self.lock.take());
        Ok(fs::remove_dir_all(&self.replaced).err().map(|e| {
            format!("the old index stays in {}: cannot remove it: {e}", self.replaced.display())
        }))
    }
}

/// Makes renames in `path`'s directory durable (best effort: not every platform can open a
/// directory).
fn sync_parent(path: &Path) {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        let _ = File::open(parent).and_then(|d| d.sync_all());
    }
}
