//! Import and export of the national member-per-row layout (全国防返贫监测信息系统: one row per
//! member, the household's columns repeated on each of its rows) as .xlsx and .csv.
//!
//! * [`layout`] — the columns, their accepted header variants, which are required;
//! * [`read`] — streaming readers (a scanner of our own for xlsx, [`sheet`]; csv + encoding_rs for UTF-8/GB18030);
//! * [`parse`] — rows to households, with errors (nothing is written) and warnings (imported);
//! * [`write`] — the export, the import template and the issue report;
//! * [`import_households`] (read on a blocking thread, checked and written part by part) and
//!   [`export_households`] — the whole operation through the domain's storage traits.

pub mod feed;
pub mod layout;
pub mod parse;
pub mod read;
pub mod regions;
mod run;
mod sheet;
pub mod write;

pub use parse::{Issue, Origin, ParsedImport, Streamed, Tier, parse_households, stream_households};
pub use read::{Cell, FileFormat, ReadError, Row, RowSource};
pub use run::{
    ExportError, ImportError, ImportOptions, ImportReport, PROGRESS_COMMIT, PROGRESS_REREAD, export_households,
    import_households,
};
pub use write::{ExportWriter, SheetTable, WriteError, write_issues, write_sheets, write_table, write_template};
