//! The IDX format of MNIST and Fashion-MNIST, raw or gzip-compressed.
//!
//! An IDX file is a big-endian header — magic `0x000008NN` (`08` = unsigned bytes, `NN` = number
//! of dimensions), then one `u32` size per dimension — followed by the values. Images are
//! `0x00000803` (count × rows × cols), labels `0x00000801` (count). A file is read as gzip when
//! it starts with the gzip magic bytes `1f 8b` or its name ends in `.gz`.
//!
//! Files are streamed, never read whole: a raw file's length is checked against its header
//! before anything is allocated, a gzip stream is read only up to the size its header
//! promises plus one byte (so a stream that inflates to more — a gzip bomb — is a size
//! mismatch, not an allocation), [`load_idx_pair_limited`] converts only the samples it keeps,
//! and the pixel buffer is reserved with `try_reserve` (an error, not an abort, when memory is
//! short). Images of 0×0 pixels are an error naming the file.

use std::io::{BufRead, Read};
use std::path::Path;

use super::Dataset;
use crate::error::{Error, Result};
use crate::rng::Rng;

/// Magic number of an IDX file of unsigned-byte images (3 dimensions).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned-byte labels (1 dimension).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// Images read from an IDX file.
#[derive(Clone, Debug, PartialEq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
    /// The pixels, `[count, rows·cols]` row-major, scaled from 0..=255 to [0, 1] (v / 255).
    pub pixels: Vec<f64>,
}

/// Reads an IDX image file (`0x00000803`), raw or gzip; pixels scaled to [0, 1].
pub fn read_idx_images(path: impl AsRef<Path>) -> Result<IdxImages> {
    let path = path.as_ref();
    let mut file = IdxFile::open(path)?;
    let header = file.images_header()?;
    file.images(&header, None)
}

/// The header of an IDX image file, raw or gzip: `(count, rows, cols)`, read without the
/// pixels (for estimating the memory a run needs before loading it).
pub fn read_idx_images_header(path: impl AsRef<Path>) -> Result<(usize, usize, usize)> {
    let h = IdxFile::open(path.as_ref())?.images_header()?;
    Ok((h.count, h.rows, h.cols))
}

/// Reads an IDX label file (`0x00000801`), raw or gzip.
pub fn read_idx_labels(path: impl AsRef<Path>) -> Result<Vec<u8>> {
    let path = path.as_ref();
    let mut file = IdxFile::open(path)?;
    let count = file.labels_header()?;
    Ok(file.labels(count, None)?.0)
}

/// Parses the bytes of an IDX image file (already decompressed); `source` names it in errors.
pub fn parse_images(bytes: &[u8], source: &str) -> Result<IdxImages> {
    let mut file = IdxFile::from_bytes(bytes, source);
    let header = file.images_header()?;
    file.images(&header, None)
}

/// Parses the bytes of an IDX label file (already decompressed); `source` names it in errors.
pub fn parse_labels(bytes: &[u8], source: &str) -> Result<Vec<u8>> {
    let mut file = IdxFile::from_bytes(bytes, source);
    let count = file.labels_header()?;
    Ok(file.labels(count, None)?.0)
}

/// Loads an image file and its label file as one classification [`Dataset`]: features are the
/// `rows·cols` pixels in [0, 1], and there are `max label + 1` classes (10 for MNIST), with
/// class names `"0"`, `"1"`, …. The counts of the two files must agree. The data set is named
/// after the image file's stem.
pub fn load_idx_pair(
    images_path: impl AsRef<Path>,
    labels_path: impl AsRef<Path>,
) -> Result<Dataset> {
    load_idx_pair_limited(images_path, labels_path, None, &mut Rng::seed(0))
}

/// [`load_idx_pair`] keeping only `limit` samples, chosen with `rng` exactly as
/// [`super::limit_indices`] does (so the result equals loading everything and then taking
/// that subset), but without converting, or keeping, the other samples: the files are
/// streamed, and memory is spent on the kept samples only. The number of classes is still
/// `max label + 1` over the whole label file. `rng` is used only when `limit` is below the
/// files' count.
pub fn load_idx_pair_limited(
    images_path: impl AsRef<Path>,
    labels_path: impl AsRef<Path>,
    limit: Option<usize>,
    rng: &mut Rng,
) -> Result<Dataset> {
    let (ip, lp) = (images_path.as_ref(), labels_path.as_ref());
    let mut images = IdxFile::open(ip)?;
    let header = images.images_header()?;
    let mut labels = IdxFile::open(lp)?;
    let count = labels.labels_header()?;
    if header.count != count {
        return Err(Error::Data(format!(
            "count mismatch: {} holds {} images but {} holds {} labels",
            ip.display(),
            header.count,
            lp.display(),
            count
        )));
    }
    let keep = match limit {
        Some(l) if l < count => {
            // The index list is as long as the header's count: check that the files really
            // hold that many samples first (free for raw files; a counting pass for gzip).
            verify_size(ip, true)?;
            verify_size(lp, false)?;
            super::limit_indices(count, l, rng)?
        }
        _ => None,
    };
    let (labels, k) = labels.labels(count, keep.as_deref())?;
    let images = images.images(&header, keep.as_deref())?;
    let name = ip
        .file_name()
        .map(|s| {
            let s = s.to_string_lossy();
            s.strip_suffix(".gz").unwrap_or(&s).to_string()
        })
        .unwrap_or_else(|| ip.display().to_string());
    Dataset::classification(
        name,
        images.pixels,
        images.rows * images.cols,
        labels.into_iter().map(usize::from).collect(),
        k,
    )?
    .with_class_names((0..k).map(|i| i.to_string()).collect())
}

/// Loads a separate test pair for a training set of `num_classes` classes: every test label
/// must be below it (a test label the training files never use is an error naming the test
/// label file), and the test set gets the training set's classes.
pub fn load_idx_test_pair(
    images_path: impl AsRef<Path>,
    labels_path: impl AsRef<Path>,
    num_classes: usize,
) -> Result<Dataset> {
    let lp = labels_path.as_ref();
    let test = load_idx_pair(images_path, lp)?;
    let labels = test.labels().expect("a classification set");
    if let Some((i, &l)) = labels.iter().enumerate().find(|(_, &l)| l >= num_classes) {
        return Err(Error::Data(format!(
            "{}: test label {l} (sample {i}) is not a class of the training set, whose labels \
             are 0..={} ({num_classes} classes)",
            lp.display(),
            num_classes.saturating_sub(1)
        )));
    }
    Dataset::classification(
        test.name(),
        test.x().to_vec(),
        test.dim(),
        labels.to_vec(),
        num_classes,
    )?
    .with_class_names((0..num_classes).map(|i| i.to_string()).collect())
}

/// Checks that an images (`images`) or labels file holds what its header promises, without
/// keeping anything: from the length of a raw file, by streaming a gzip one.
fn verify_size(path: &Path, images: bool) -> Result<()> {
    let mut f = IdxFile::open(path)?;
    let (count, item, describe) = if images {
        let h = f.images_header()?;
        let d = format!("{} images of {}×{} pixels", h.count, h.rows, h.cols);
        (h.count, h.rows.saturating_mul(h.cols), d)
    } else {
        let count = f.labels_header()?;
        (count, 1, format!("{count} labels"))
    };
    let describe = || describe.clone();
    if f.raw_len.is_some() {
        f.body_size(count, item, &describe).map(|_| ())
    } else {
        f.stream(count, item, Some(&[]), &describe, None, |_| {})
    }
}

/// The header of an images file.
struct ImagesHeader {
    count: usize,
    rows: usize,
    cols: usize,
}

/// An IDX file being streamed: raw, or gunzipped on the fly.
struct IdxFile<'a> {
    reader: Box<dyn Read + 'a>,
    source: String,
    /// The byte length of a raw (not gzip) source, known without reading it.
    raw_len: Option<u64>,
    /// Header bytes read so far.
    header_len: usize,
}

/// A callback that sees every item of a body (the labels' maximum).
type SeeItem<'f> = dyn FnMut(&[u8]) + 'f;

/// Bytes read per call while streaming a body.
const CHUNK: usize = 1 << 16;

impl<'a> IdxFile<'a> {
    /// Opens `path`, as gzip when it starts with `1f 8b` or is named `*.gz`.
    fn open(path: &Path) -> Result<IdxFile<'static>> {
        let source = path.display().to_string();
        let cannot = |e: std::io::Error| Error::Data(format!("{source}: cannot read: {e}"));
        let file = std::fs::File::open(path).map_err(cannot)?;
        let len = file.metadata().map_err(cannot)?.len();
        let mut reader = std::io::BufReader::new(file);
        let start = reader.fill_buf().map_err(cannot)?;
        let gz_magic = start.starts_with(&[0x1f, 0x8b]);
        let gz_name = path.extension().is_some_and(|e| e == "gz");
        if gz_name && !gz_magic {
            return Err(Error::Data(format!(
                "{source}: named .gz but not gzip data: expected magic bytes 1f 8b, found {}",
                hex_prefix(start, 2)
            )));
        }
        let (reader, raw_len): (Box<dyn Read>, _) = if gz_magic {
            (Box::new(flate2::bufread::MultiGzDecoder::new(reader)), None)
        } else {
            (Box::new(reader), Some(len))
        };
        Ok(IdxFile {
            reader,
            source,
            raw_len,
            header_len: 0,
        })
    }

    /// Decompressed bytes in memory (`parse_images`, `parse_labels`).
    fn from_bytes(bytes: &'a [u8], source: &str) -> IdxFile<'a> {
        IdxFile {
            reader: Box::new(bytes),
            source: source.to_string(),
            raw_len: Some(bytes.len() as u64),
            header_len: 0,
        }
    }

    /// Reads into `buf` until it is full or the data ends; returns the bytes read.
    fn read_full(&mut self, buf: &mut [u8]) -> Result<usize> {
        let mut n = 0;
        while n < buf.len() {
            match self.reader.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.read_error(e)),
            }
        }
        Ok(n)
    }

    fn read_error(&self, e: std::io::Error) -> Error {
        if self.raw_len.is_none() {
            Error::Data(format!(
                "{}: corrupt or truncated gzip data: {e}",
                self.source
            ))
        } else {
            Error::Data(format!("{}: read error: {e}", self.source))
        }
    }

    /// Reads the magic number and the dimension sizes.
    fn header(&mut self, magic: u32, what: &str) -> Result<Vec<usize>> {
        let source = self.source.clone();
        let mut m = [0u8; 4];
        let got = self.read_full(&mut m)?;
        if got < 4 {
            return Err(Error::Data(format!(
                "{source}: truncated IDX header: expected a 4-byte magic number, found {got} bytes"
            )));
        }
        let found = u32::from_be_bytes(m);
        if found != magic {
            let hint = match found {
                IMAGES_MAGIC => " (this is an IDX images file)",
                LABELS_MAGIC => " (this is an IDX labels file)",
                0x1f8b_0000..=0x1f8b_ffff => " (gzip data)",
                _ => "",
            };
            return Err(Error::Data(format!(
                "{source}: bad magic number for IDX {what}: expected 0x{magic:08x}, found 0x{found:08x}{hint}"
            )));
        }
        let ndim = (magic & 0xff) as usize;
        let header = 4 + 4 * ndim;
        let mut sizes = vec![0u8; 4 * ndim];
        let got = self.read_full(&mut sizes)?;
        if got < sizes.len() {
            return Err(Error::Data(format!(
                "{source}: truncated IDX header: expected {header} bytes ({ndim} dimension sizes), found {}",
                4 + got
            )));
        }
        self.header_len = header;
        Ok(sizes
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
            .collect())
    }

    fn images_header(&mut self) -> Result<ImagesHeader> {
        let dims = self.header(IMAGES_MAGIC, "images")?;
        let (count, rows, cols) = (dims[0], dims[1], dims[2]);
        if rows == 0 || cols == 0 {
            return Err(Error::Data(format!(
                "{}: the header declares images of {rows}×{cols} pixels; an image needs at \
                 least one pixel",
                self.source
            )));
        }
        Ok(ImagesHeader { count, rows, cols })
    }

    fn labels_header(&mut self) -> Result<usize> {
        Ok(self.header(LABELS_MAGIC, "labels")?[0])
    }

    /// The promised body size `count · item` in bytes, checked against a raw file's length
    /// before anything is read or allocated.
    fn body_size(&self, count: usize, item: usize, describe: &dyn Fn() -> String) -> Result<u64> {
        let source = &self.source;
        let need = (count as u64)
            .checked_mul(item as u64)
            .filter(|&n| usize::try_from(n).is_ok())
            .ok_or_else(|| {
                Error::Data(format!(
                    "{source}: IDX dimensions of {} overflow",
                    describe()
                ))
            })?;
        if let Some(len) = self.raw_len {
            let found = len.saturating_sub(self.header_len as u64);
            if found < need {
                return Err(Error::Data(format!(
                    "{source}: truncated: the header promises {} = {need} bytes of data, found {found}",
                    describe()
                )));
            }
            if found > need {
                return Err(Error::Data(format!(
                    "{source}: size mismatch: the header promises {} = {need} bytes of data, found {found} ({} extra)",
                    describe(),
                    found - need
                )));
            }
        }
        Ok(need)
    }

    /// Streams a body of `count` items of `item` bytes, handing each kept item (all when
    /// `keep` is `None`, else the sorted indices in `keep`) to `take`, and every item to
    /// `see` when given. Reads exactly the promised bytes plus one, to tell a longer
    /// decompressed stream (a gzip bomb) from a matching one. An item that straddles two reads
    /// is gathered only when it is kept or seen.
    fn stream(
        &mut self,
        count: usize,
        item: usize,
        keep: Option<&[usize]>,
        describe: &dyn Fn() -> String,
        mut see: Option<&mut SeeItem>,
        mut take: impl FnMut(&[u8]),
    ) -> Result<()> {
        let need = self.body_size(count, item, describe)?;
        let mut chunk = vec![0u8; CHUNK.min(need as usize).max(1)];
        // Body bytes read, and the position in `keep` of the next kept item.
        let mut pos = 0u64;
        let mut next_keep = 0;
        // The bytes of the current item gathered so far.
        let mut partial: Vec<u8> = Vec::new();
        while pos < need {
            let want = chunk.len().min((need - pos) as usize);
            let got = self.read_full(&mut chunk[..want])?;
            if got == 0 {
                return Err(Error::Data(format!(
                    "{}: truncated: the header promises {} = {need} bytes of data, found {pos}",
                    self.source,
                    describe()
                )));
            }
            let mut data = &chunk[..got];
            while !data.is_empty() {
                let i = ((pos - pos % item as u64) / item as u64) as usize;
                let offset = (pos % item as u64) as usize;
                let n = data.len().min(item - offset);
                let kept = keep.is_none_or(|k| k.get(next_keep) == Some(&i));
                let whole = offset == 0 && n == item;
                if whole {
                    if let Some(see) = see.as_mut() {
                        see(&data[..n]);
                    }
                    if kept {
                        take(&data[..n]);
                    }
                } else if kept || see.is_some() {
                    partial.extend_from_slice(&data[..n]);
                    if partial.len() == item {
                        if let Some(see) = see.as_mut() {
                            see(&partial);
                        }
                        if kept {
                            take(&partial);
                        }
                        partial.clear();
                    }
                }
                if offset + n == item && kept && keep.is_some() {
                    next_keep += 1;
                }
                pos += n as u64;
                data = &data[n..];
            }
        }
        let mut extra = [0u8; 1];
        if self.read_full(&mut extra)? > 0 {
            return Err(Error::Data(format!(
                "{}: size mismatch: the header promises {} = {need} bytes of data, but the \
                 decompressed data holds more (reading stopped 1 byte past the promised size)",
                self.source,
                describe()
            )));
        }
        Ok(())
    }

    fn images(&mut self, h: &ImagesHeader, keep: Option<&[usize]>) -> Result<IdxImages> {
        let (count, rows, cols) = (h.count, h.rows, h.cols);
        let describe = || format!("{count} images of {rows}×{cols} pixels");
        let pixels_per = rows.checked_mul(cols).ok_or_else(|| {
            Error::Data(format!(
                "{}: IDX dimensions of {} overflow",
                self.source,
                describe()
            ))
        })?;
        self.body_size(count, pixels_per, &describe)?;
        let kept = keep.map_or(count, <[usize]>::len);
        let mut pixels: Vec<f64> = Vec::new();
        let total = kept.checked_mul(pixels_per);
        if total.is_none_or(|t| pixels.try_reserve_exact(t).is_err()) {
            return Err(Error::Data(format!(
                "{}: cannot allocate memory for {kept} images of {rows}×{cols} pixels ({} \
                 bytes as f64); use data.limit to load fewer",
                self.source,
                (kept as u128) * (pixels_per as u128) * 8
            )));
        }
        self.stream(count, pixels_per, keep, &describe, None, |img| {
            pixels.extend(img.iter().map(|&b| f64::from(b) / 255.0))
        })?;
        Ok(IdxImages {
            count: kept,
            rows,
            cols,
            pixels,
        })
    }

    /// The kept labels and `max label + 1` over every label of the file.
    fn labels(&mut self, count: usize, keep: Option<&[usize]>) -> Result<(Vec<u8>, usize)> {
        let describe = || format!("{count} labels");
        self.body_size(count, 1, &describe)?;
        let kept = keep.map_or(count, <[usize]>::len);
        let mut labels: Vec<u8> = Vec::new();
        if labels.try_reserve_exact(kept).is_err() {
            return Err(Error::Data(format!(
                "{}: cannot allocate memory for {kept} labels",
                self.source
            )));
        }
        let mut max: Option<u8> = None;
        self.stream(
            count,
            1,
            keep,
            &describe,
            Some(&mut |l: &[u8]| max = max.max(Some(l[0]))),
            |l| labels.push(l[0]),
        )?;
        Ok((labels, max.map_or(0, |m| usize::from(m) + 1)))
    }
}

fn hex_prefix(b: &[u8], n: usize) -> String {
    if b.is_empty() {
        return "an empty file".into();
    }
    b.iter()
        .take(n)
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}
