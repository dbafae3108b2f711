//! CSV import and export of contacts. Import validates every row with the same rules as the
//! form; rows with problems are reported with their line number and reason and the others are
//! stored in one transaction, so a row is either stored whole or not at all.

use crate::contacts::ContactForm;
use crate::contacts::storage::{ContactData, ContactRow};

pub const COLUMNS: [&str; 7] = [
    "name",
    "email",
    "phone",
    "company",
    "job_title",
    "time_zone",
    "notes",
];
pub const MAX_ROWS: usize = 50_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedRow {
    /// 1-based line in the file (the header is line 1).
    pub line: u64,
    pub reason: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImportError {
    #[error("The file is empty.")]
    Empty,
    #[error("The first line must name the columns. Rapport needs a “name” column and understands: {}. Found: {found}.", COLUMNS.join(", "))]
    WrongColumns { found: String },
    #[error("The file has more than {} rows. Split it into smaller files.", crate::web::thousands(MAX_ROWS as i64))]
    TooManyRows,
    #[error("The file could not be read as CSV: {0}")]
    Malformed(String),
}

#[derive(Debug, Default)]
pub struct ParsedImport {
    pub valid: Vec<(u64, ContactData)>,
    pub rejected: Vec<RejectedRow>,
}

/// Parses and validates a CSV file. Header names are matched case-insensitively, with spaces
/// or dashes for underscores ("Job title" works); unknown columns are ignored.
pub fn parse(bytes: &[u8]) -> Result<ParsedImport, ImportError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ImportError::Empty);
    }
    let mut reader = ::csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(bytes);
    let headers = reader
        .byte_headers()
        .map_err(|e| ImportError::Malformed(e.to_string()))?
        .clone();
    let names: Vec<String> = headers
        .iter()
        .map(|h| {
            String::from_utf8_lossy(h)
                .trim()
                .to_lowercase()
                .replace([' ', '-'], "_")
        })
        .collect();
    let index = |col: &str| names.iter().position(|n| n == col);
    let Some(name_idx) = index("name") else {
        let found: Vec<String> = names
            .iter()
            .map(|n| format!("“{}”", n.chars().take(40).collect::<String>()))
            .collect();
        return Err(ImportError::WrongColumns {
            found: found.join(", "),
        });
    };
    let positions: Vec<Option<usize>> = COLUMNS
        .iter()
        .map(|c| {
            if *c == "name" {
                Some(name_idx)
            } else {
                index(c)
            }
        })
        .collect();
    let mut parsed = ParsedImport::default();
    // The csv crate's own line count is one short for files with CRLF line ends (Excel's), so
    // lines are counted here from each record's byte offset, incrementally.
    let mut counted: (usize, u64) = (0, 1);
    let mut line_at = |byte: u64| -> u64 {
        let mut byte = usize::try_from(byte).unwrap_or(usize::MAX).min(bytes.len());
        // After a CRLF the reported start is the LF itself: step onto the record's first byte.
        while bytes.get(byte).is_some_and(|b| *b == b'\n' || *b == b'\r') {
            byte += 1;
        }
        let newlines = |range: &[u8]| range.iter().filter(|b| **b == b'\n').count() as u64;
        if byte < counted.0 {
            return 1 + newlines(&bytes[..byte]);
        }
        counted.1 += newlines(&bytes[counted.0..byte]);
        counted.0 = byte;
        counted.1
    };
    for (n, record) in reader.byte_records().enumerate() {
        if n >= MAX_ROWS {
            return Err(ImportError::TooManyRows);
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e
                    .position()
                    .map(|p| line_at(p.byte()))
                    .unwrap_or(n as u64 + 2);
                parsed.rejected.push(RejectedRow {
                    line,
                    reason: "this line is not valid CSV".into(),
                });
                continue;
            }
        };
        let line = record
            .position()
            .map(|p| line_at(p.byte()))
            .unwrap_or(n as u64 + 2);
        if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            continue;
        }
        let mut fields: Vec<String> = Vec::with_capacity(COLUMNS.len());
        let mut bad_utf8 = None;
        for (col, pos) in COLUMNS.iter().zip(&positions) {
            let raw = pos.and_then(|p| record.get(p)).unwrap_or(b"");
            match std::str::from_utf8(raw) {
                Ok(s) => fields.push(restore_formula(s).to_owned()),
                Err(_) => {
                    bad_utf8 = Some(*col);
                    break;
                }
            }
        }
        if let Some(col) = bad_utf8 {
            parsed.rejected.push(RejectedRow {
                line,
                reason: format!(
                    "the {col} column is not valid UTF-8 text (save the file as UTF-8)"
                ),
            });
            continue;
        }
        let form = ContactForm {
            name: fields[0].clone(),
            email: fields[1].clone(),
            phone: fields[2].clone(),
            company: fields[3].clone(),
            job_title: fields[4].clone(),
            time_zone: fields[5].clone(),
            notes: fields[6].clone(),
        };
        match form.validate() {
            Ok(data) => parsed.valid.push((line, data)),
            Err(errors) => {
                let reason: Vec<String> = errors.iter().map(|(_, m)| m.clone()).collect();
                parsed.rejected.push(RejectedRow {
                    line,
                    reason: reason.join(" "),
                });
            }
        }
    }
    Ok(parsed)
}

/// Writes one contact as CSV with the import's columns, so an export can be imported again.
pub fn write_row<W: std::io::Write>(
    writer: &mut ::csv::Writer<W>,
    c: &ContactRow,
) -> Result<(), ::csv::Error> {
    let cells = [
        c.name.as_str(),
        c.email.as_deref().unwrap_or(""),
        c.phone.as_deref().unwrap_or(""),
        c.company.as_deref().unwrap_or(""),
        c.job_title.as_deref().unwrap_or(""),
        c.time_zone.as_deref().unwrap_or(""),
        c.notes.as_deref().unwrap_or(""),
    ];
    // A cell starting with = + - @ would run as a formula in a spreadsheet: prefix a quote.
    // Phone numbers are validated to digits and punctuation, which cannot call anything.
    let safe: Vec<String> = cells
        .iter()
        .enumerate()
        .map(|(i, v)| {
            if i == 2 {
                (*v).to_owned()
            } else {
                neutralize_formula(v)
            }
        })
        .collect();
    writer.write_record(&safe)
}

fn neutralize_formula(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

/// Undoes [`neutralize_formula`] so an export imports back unchanged.
fn restore_formula(value: &str) -> &str {
    match value.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest,
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_of(rows: usize) -> Vec<u8> {
        let mut file = b"name,email\n".to_vec();
        for n in 0..rows {
            file.extend_from_slice(format!("Person {n},p{n}@example.com\n").as_bytes());
        }
        file
    }

    #[test]
    fn takes_up_to_max_rows_and_refuses_one_more_whole() {
        let parsed = parse(&file_of(MAX_ROWS)).unwrap();
        assert_eq!(parsed.valid.len(), MAX_ROWS);
        assert!(parsed.rejected.is_empty());
        let refused = parse(&file_of(MAX_ROWS + 1)).unwrap_err();
        assert_eq!(refused, ImportError::TooManyRows);
        assert_eq!(
            refused.to_string(),
            "The file has more than 50,000 rows. Split it into smaller files."
        );
    }

    #[test]
    fn reports_each_bad_row_with_its_line() {
        let file = b"Name,Email,Company,Job title\nAda,ada@example.com,Analytical,Countess\n,nobody@example.com,,\nBob,not-an-email,,\nCyd,c@example.com,\xff\xfe,\n";
        let parsed = parse(file).unwrap();
        assert_eq!(parsed.valid.len(), 1);
        assert_eq!(parsed.valid[0].1.job_title.as_deref(), Some("Countess"));
        let lines: Vec<u64> = parsed.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![3, 4, 5]);
        assert!(parsed.rejected[0].reason.contains("Name is required"));
        assert!(parsed.rejected[1].reason.contains("not a valid email"));
        assert!(parsed.rejected[2].reason.contains("UTF-8"));
        let crlf = parse(
            b"Name,Email\r\nAda,a@example.com\r\n,x@example.com\r\nBob,\"bob\r\n@\"\r\nCyd,c@\r\n",
        )
        .unwrap();
        let lines: Vec<u64> = crlf.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![3, 4, 6], "CRLF files count lines like LF files");
    }

    #[test]
    fn wrong_columns_and_empty_files_are_refused() {
        assert!(matches!(
            parse(b"first,last\nA,B\n"),
            Err(ImportError::WrongColumns { .. })
        ));
        assert_eq!(parse(b"  \n").unwrap_err(), ImportError::Empty);
    }

    #[test]
    fn formulas_are_neutralized_on_export() {
        assert_eq!(
            neutralize_formula("=HYPERLINK(\"x\")"),
            "'=HYPERLINK(\"x\")"
        );
        assert_eq!(neutralize_formula("Ada"), "Ada");
    }
}
