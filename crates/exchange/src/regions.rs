//! Region lists (区划代码, 名称) as CSV: how a deployment loads its own villages before
//! importing households. Small files, read whole.

use std::path::Path;

use domain::region::{Region, RegionCode};

#[derive(Debug, thiserror::Error)]
pub enum RegionFileError {
    #[error("无法读取区划文件：{0}")]
    Io(#[from] std::io::Error),
    #[error("区划文件第1行应为表头，含“代码”和“名称”两列（如：代码,名称）")]
    NoHeader,
    #[error("区划文件第{line}行：{message}")]
    Row { line: usize, message: String },
}

fn decode(bytes: &[u8]) -> String {
    if let Some((enc, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        return enc.decode_without_bom_handling(&bytes[bom..]).0.into_owned();
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::GB18030.decode_without_bom_handling(bytes).0.into_owned(),
    }
}

/// Reads `代码,名称` rows (header variants: 区划代码 / 统计用区划代码, 名称 / 区划名称). Every code
/// must be 12 digits; parents need not be in the file if they are already registered.
pub fn read_regions(path: &Path) -> Result<Vec<Region>, RegionFileError> {
    let text = decode(&std::fs::read(path)?);
    let mut rdr = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut records = rdr.records();
    let header = records
        .next()
        .ok_or(RegionFileError::NoHeader)?
        .map_err(|e| RegionFileError::Row { line: 1, message: e.to_string() })?;
    let find = |names: &[&str]| header.iter().position(|h| names.contains(&h.trim()));
    let (Some(ci), Some(ni)) =
        (find(&["代码", "区划代码", "统计用区划代码", "code"]), find(&["名称", "区划名称", "name"]))
    else {
        return Err(RegionFileError::NoHeader);
    };
    let mut out = Vec::new();
    for (i, rec) in records.enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| RegionFileError::Row { line, message: e.to_string() })?;
        let code = rec.get(ci).unwrap_or("").trim();
        let name = rec.get(ni).unwrap_or("").trim();
        if code.is_empty() && name.is_empty() {
            continue;
        }
        let code = RegionCode::parse(code).map_err(|e| RegionFileError::Row { line, message: e.to_string() })?;
        if name.is_empty() {
            return Err(RegionFileError::Row { line, message: "名称不能为空".into() });
        }
        out.push(Region { code, name: name.to_string() });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_utf8_and_gbk() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.csv");
        std::fs::write(&p, "\u{feff}代码,名称\n450203100000,雒容镇\n450203100201,大正村\n\n").unwrap();
        let r = read_regions(&p).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].name, "大正村");
        let (gbk, _, _) = encoding_rs::GBK.encode("区划代码,区划名称\n450203100202,东塘村\n");
        std::fs::write(&p, gbk).unwrap();
        assert_eq!(read_regions(&p).unwrap()[0].name, "东塘村");
        std::fs::write(&p, "代码,名称\n4502,大正村\n").unwrap();
        assert!(matches!(read_regions(&p), Err(RegionFileError::Row { line: 2, .. })));
        std::fs::write(&p, "a,b\n").unwrap();
        assert!(matches!(read_regions(&p), Err(RegionFileError::NoHeader)));
    }
}
