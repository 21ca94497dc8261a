//! The IDX format of MNIST and Fashion-MNIST, raw or gzip-compressed.
//!
//! An IDX file is a big-endian header — magic `0x000008NN` (`08` = unsigned bytes, `NN` = number
//! of dimensions), then one `u32` size per dimension — followed by the values. Images are
//! `0x00000803` (count × rows × cols), labels `0x00000801` (count). A file is read as gzip when
//! it starts with the gzip magic bytes `1f 8b` or its name ends in `.gz`.

use std::io::Read;
use std::path::Path;

use super::Dataset;
use crate::error::{Error, Result};

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
    let bytes = read_maybe_gz(path)?;
    parse_images(&bytes, &path.display().to_string())
}

/// Reads an IDX label file (`0x00000801`), raw or gzip.
pub fn read_idx_labels(path: impl AsRef<Path>) -> Result<Vec<u8>> {
    let path = path.as_ref();
    let bytes = read_maybe_gz(path)?;
    parse_labels(&bytes, &path.display().to_string())
}

/// Parses the bytes of an IDX image file (already decompressed); `source` names it in errors.
pub fn parse_images(bytes: &[u8], source: &str) -> Result<IdxImages> {
    let dims = parse_header(bytes, IMAGES_MAGIC, "images", source)?;
    let (count, rows, cols) = (dims[0], dims[1], dims[2]);
    let body = body(bytes, &dims, source, || {
        format!("{count} images of {rows}×{cols} pixels")
    })?;
    Ok(IdxImages {
        count,
        rows,
        cols,
        pixels: body.iter().map(|&b| f64::from(b) / 255.0).collect(),
    })
}

/// Parses the bytes of an IDX label file (already decompressed); `source` names it in errors.
pub fn parse_labels(bytes: &[u8], source: &str) -> Result<Vec<u8>> {
    let dims = parse_header(bytes, LABELS_MAGIC, "labels", source)?;
    let count = dims[0];
    Ok(body(bytes, &dims, source, || format!("{count} labels"))?.to_vec())
}

/// Loads an image file and its label file as one classification [`Dataset`]: features are the
/// `rows·cols` pixels in [0, 1], and there are `max label + 1` classes (10 for MNIST), with
/// class names `"0"`, `"1"`, …. The counts of the two files must agree. The data set is named
/// after the image file's stem.
pub fn load_idx_pair(
    images_path: impl AsRef<Path>,
    labels_path: impl AsRef<Path>,
) -> Result<Dataset> {
    let (ip, lp) = (images_path.as_ref(), labels_path.as_ref());
    let images = read_idx_images(ip)?;
    let labels = read_idx_labels(lp)?;
    if images.count != labels.len() {
        return Err(Error::Data(format!(
            "count mismatch: {} holds {} images but {} holds {} labels",
            ip.display(),
            images.count,
            lp.display(),
            labels.len()
        )));
    }
    let k = labels
        .iter()
        .map(|&l| usize::from(l) + 1)
        .max()
        .unwrap_or(0);
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

/// Reads a whole file, gunzipping it when it starts with `1f 8b` or is named `*.gz`.
fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let src = path.display();
    let raw = std::fs::read(path).map_err(|e| Error::Data(format!("{src}: cannot read: {e}")))?;
    let gz_magic = raw.starts_with(&[0x1f, 0x8b]);
    let gz_name = path.extension().is_some_and(|e| e == "gz");
    if !gz_magic && !gz_name {
        return Ok(raw);
    }
    if !gz_magic {
        return Err(Error::Data(format!(
            "{src}: named .gz but not gzip data: expected magic bytes 1f 8b, found {}",
            hex_prefix(&raw, 2)
        )));
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(&raw[..])
        .read_to_end(&mut out)
        .map_err(|e| Error::Data(format!("{src}: corrupt or truncated gzip data: {e}")))?;
    Ok(out)
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

fn parse_header(bytes: &[u8], magic: u32, what: &str, source: &str) -> Result<Vec<usize>> {
    if bytes.len() < 4 {
        return Err(Error::Data(format!(
            "{source}: truncated IDX header: expected a 4-byte magic number, found {} bytes",
            bytes.len()
        )));
    }
    let found = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
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
    if bytes.len() < header {
        return Err(Error::Data(format!(
            "{source}: truncated IDX header: expected {header} bytes ({ndim} dimension sizes), found {}",
            bytes.len()
        )));
    }
    Ok((0..ndim)
        .map(|i| {
            let o = 4 + 4 * i;
            u32::from_be_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]) as usize
        })
        .collect())
}

fn body<'a>(
    bytes: &'a [u8],
    dims: &[usize],
    source: &str,
    describe: impl Fn() -> String,
) -> Result<&'a [u8]> {
    let header = 4 + 4 * dims.len();
    let need = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| Error::Data(format!("{source}: IDX dimensions {dims:?} overflow")))?;
    let found = bytes.len() - header;
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
    Ok(&bytes[header..])
}
