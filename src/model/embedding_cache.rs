//! A disk cache of sentence embeddings, keyed by encoder and text.
//!
//! Training and evaluating the accurate tier embeds the same tens of thousands of texts again
//! and again, at a few hundred texts a second; the cache makes every run after the first take
//! seconds. One append-only file per encoder: records of a 64-bit text hash and the vector.
//! A torn last record (a run killed mid-write) is ignored on load.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// Embeddings already computed, and the file new ones are appended to.
pub struct EmbeddingCache {
    dim: usize,
    map: HashMap<u64, Vec<f32>>,
    path: PathBuf,
    out: Option<BufWriter<File>>,
}

impl EmbeddingCache {
    /// Opens (or starts) the cache at `path` for vectors of `dim` floats.
    pub fn open(path: &Path, dim: usize) -> std::io::Result<EmbeddingCache> {
        let mut map = HashMap::new();
        if path.is_file() {
            let mut r = BufReader::new(File::open(path)?);
            let mut rec = vec![0u8; 8 + 4 * dim];
            while r.read_exact(&mut rec).is_ok() {
                let (key, vec) = rec.split_at(8);
                let mut k = [0u8; 8];
                k.copy_from_slice(key);
                let v = vec.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]));
                map.insert(u64::from_le_bytes(k), v.collect());
            }
        }
        Ok(EmbeddingCache { dim, map, path: path.to_path_buf(), out: None })
    }

    /// Number of cached vectors.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The cached vector of `text`.
    pub fn get(&self, text: &str) -> Option<&[f32]> {
        self.map.get(&key(text)).map(Vec::as_slice)
    }

    /// Stores the vector of `text` (in memory and on disk).
    pub fn put(&mut self, text: &str, v: &[f32]) -> std::io::Result<()> {
        if v.len() != self.dim {
            return Err(std::io::Error::other(format!(
                "embedding of {} floats, the cache holds {}",
                v.len(),
                self.dim
            )));
        }
        if self.out.is_none() {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let f = OpenOptions::new().create(true).append(true).open(&self.path)?;
            self.out = Some(BufWriter::new(f));
        }
        let k = key(text);
        if let Some(out) = self.out.as_mut() {
            out.write_all(&k.to_le_bytes())?;
            for x in v {
                out.write_all(&x.to_le_bytes())?;
            }
        }
        self.map.insert(k, v.to_vec());
        Ok(())
    }

    /// Writes buffered records to disk.
    pub fn flush(&mut self) -> std::io::Result<()> {
        match self.out.as_mut() {
            Some(out) => out.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for EmbeddingCache {
    fn drop(&mut self) {
        // A failed flush only loses cache entries: they are recomputed next time.
        let _ = self.flush();
    }
}

/// 64-bit FNV-1a of the text: collisions among a few million texts are vanishingly rare.
fn key(text: &str) -> u64 {
    super::features::fnv1a(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_survive_a_reopen_and_a_torn_tail_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.bin");
        {
            let mut c = EmbeddingCache::open(&path, 2).unwrap();
            c.put("a", &[1.0, 2.0]).unwrap();
            c.put("b", &[3.0, 4.0]).unwrap();
            assert!(c.put("c", &[1.0]).is_err());
        }
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[1, 2, 3]).unwrap();
        drop(f);
        let c = EmbeddingCache::open(&path, 2).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c.get("b"), Some(&[3.0f32, 4.0][..]));
        assert_eq!(c.get("z"), None);
    }
}
