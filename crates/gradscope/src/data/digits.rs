//! The embedded 8×8 handwritten digits.

use super::csv::{read_csv, CsvOptions, Header, LabelColumn, LabelKind};
use super::Dataset;

/// `digits.csv.gz` as shipped by scikit-learn: 1797 rows of 64 pixel counts and the digit.
static DIGITS_CSV_GZ: &[u8] = include_bytes!("../../data/digits.csv.gz");

/// The 8×8 handwritten digits, embedded in the library (no download): 1797 samples of 64
/// features (pixel counts 0..=16, row-major over the 8×8 image, named `pixel_R_C`) and 10
/// classes, class `i` being digit `i` (class names `"0"`..`"9"`).
///
/// This is the test set of the UCI *Optical Recognition of Handwritten Digits* data set
/// (E. Alpaydin, C. Kaynak, 1998) as shipped by scikit-learn; see
/// `crates/gradscope/data/DIGITS-LICENSE.md` for provenance and licence. It is decoded on each
/// call (a few milliseconds).
pub fn digits() -> Dataset {
    let gz = flate2::read::GzDecoder::new(DIGITS_CSV_GZ);
    let opts = CsvOptions {
        header: Header::Absent,
        label: LabelColumn::Last,
        label_kind: LabelKind::Classes,
        name: Some("digits".into()),
        ..CsvOptions::default()
    };
    let ds = read_csv(gz, "digits.csv.gz (embedded)", &opts).expect("embedded digits data parse");
    let names = (0..64)
        .map(|i| format!("pixel_{}_{}", i / 8, i % 8))
        .collect();
    ds.with_feature_names(names)
        .expect("64 feature names for the embedded digits")
}
