//! Real test files: a sample table in the national layout, written as xlsx (rust_xlsxwriter)
//! or csv (UTF-8 or GBK), with the knobs the tests turn (a title row, header variants, number
//! cells).

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use exchange::layout::COLUMNS;
use rust_xlsxwriter::{Workbook, Worksheet};

pub fn id(birth: (i32, u32, u32), seq: u16) -> String {
    domain::national_id::make_id(450203, NaiveDate::from_ymd_opt(birth.0, birth.1, birth.2).unwrap(), seq)
}

/// A cell written as a number (or a date) instead of text.
#[derive(Clone, Copy)]
pub enum Typed {
    Number(f64),
    Date(u16, u8, u8),
}

#[derive(Clone)]
pub struct Sheet {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// A title line above the header.
    pub title: Option<String>,
    /// (data row index, header, value) written with a cell type.
    pub typed: Vec<(usize, String, Typed)>,
}

impl Sheet {
    /// Three households over six rows, all fields consistent: 0 errors, 0 warnings.
    /// `n` households of two members each (the sample's first household), with IDs distinct
    /// across the file and the rows of each household together.
    pub fn many(n: usize) -> Sheet {
        let base = Sheet::sample();
        let mut s = Sheet { rows: Vec::new(), ..base.clone() };
        let (no, national_id, sex) = (s.col("户编号"), s.col("证件号码"), s.col("性别"));
        for i in 0..n {
            for (r, seq) in [(0usize, 1u16), (1, 2)] {
                let mut row = base.rows[r].clone();
                row[no] = format!("45020310020{i:05}");
                let birth = (1940 + (i / 336) as i32, 1 + (i / 28 % 12) as u32, 1 + (i % 28) as u32);
                row[national_id] = id(birth, seq);
                // the sex the ID says
                row[sex] = String::new();
                s.rows.push(row);
            }
        }
        s
    }

    pub fn sample() -> Sheet {
        let headers: Vec<String> = COLUMNS.iter().map(|c| c.header.to_string()).collect();
        let mut s = Sheet { headers, rows: Vec::new(), title: None, typed: Vec::new() };
        let h1 = [
            ("县", "鱼峰区"),
            ("乡镇", "雒容镇"),
            ("村", "大正村"),
            ("组", "3"),
            ("户编号", "4502031002010001"),
            ("户类型", "一般农户"),
            ("联系电话", "13800001234"),
            ("家庭住址", "大正村3组1号"),
            ("家庭人口数", "2"),
            ("工资性收入", "24000"),
            ("生产经营性收入", "6000.5"),
            ("财产性收入", "0"),
            ("转移性收入", "1200"),
            ("生产经营性支出", "2000"),
            ("合规自付支出", "0"),
            ("理赔收入", "0"),
            ("是否饮水安全", "是"),
            ("两不愁是否有保障", "是"),
            ("是否军烈属", "否"),
            ("整户无劳动能力兜底保障户", "否"),
            ("是否易地扶贫搬迁", "否"),
        ];
        s.push(&h1, &member("韦志强", &id((1968, 5, 12), 11), "户主", "男", "初中", "", "健康", "", "普通劳动力"));
        s.push(
            &h1,
            &member("覃秀兰", &id((1970, 8, 20), 22), "配偶", "女", "小学", "", "长期慢性病", "", "弱劳动力或半劳动力"),
        );
        let h2 = [
            ("县", "鱼峰区"),
            ("乡镇", "雒容镇"),
            ("村", "东塘村"),
            ("组", "1"),
            ("户编号", "4502031002020001"),
            ("户类型", "脱贫户"),
            ("脱贫年度", "2016"),
            ("监测对象类别", "脱贫不稳定户"),
            ("识别监测时间", "2022-04-01"),
            ("风险是否已消除", "否"),
            ("致贫返贫风险1", "因病"),
            ("致贫返贫风险2", "因学"),
            ("家庭人口数", "3"),
            ("危房等级", "B级"),
            ("帮扶责任人", "黄文敏"),
            ("帮扶责任人单位", "雒容镇社会事业办"),
            ("帮扶责任人电话", "0772-2673367"),
        ];
        s.push(&h2, &member("黄大明", &id((1975, 1, 9), 31), "户主", "男", "初中", "", "患有大病", "", "丧失劳动力"));
        s.push(
            &h2,
            &member("黄梅", &id((1978, 6, 30), 42), "配偶", "女", "初中", "", "残疾", "肢体残疾", "弱劳动力或半劳动力"),
        );
        s.push(&h2, &member("黄小明", &id((2009, 3, 1), 53), "之子", "男", "", "七年级", "健康", "", "无劳动力"));
        let h3 = [
            ("县", "鱼峰区"),
            ("乡镇", "雒容镇"),
            ("村", "秀水村"),
            ("户编号", "4502031002030001"),
            ("户类型", "一般农户"),
            ("监测对象类别", "边缘易致贫户"),
            ("识别监测时间", "2022-04-10"),
            ("风险是否已消除", "是"),
            ("风险消除方式", "帮扶消除"),
            ("风险消除时间", "2022-10-15"),
            ("致贫返贫风险1", "因自然灾害"),
            ("自然灾害类型", "洪涝灾害"),
            ("家庭人口数", "1"),
        ];
        s.push(
            &h3,
            &member("莫桂英", &id((1950, 12, 1), 64), "户主", "女", "文盲或半文盲", "", "健康", "", "无劳动力"),
        );
        s
    }

    fn push(&mut self, household: &[(&str, &str)], member: &[(&str, String)]) {
        let mut row = vec![String::new(); self.headers.len()];
        for (h, v) in household {
            row[self.col(h)] = v.to_string();
        }
        for (h, v) in member {
            row[self.col(h)] = v.clone();
        }
        self.rows.push(row);
    }

    pub fn col(&self, header: &str) -> usize {
        self.headers.iter().position(|h| h == header).unwrap_or_else(|| panic!("no column {header}"))
    }

    pub fn get(&self, row: usize, header: &str) -> String {
        self.rows[row][self.col(header)].clone()
    }

    pub fn set(&mut self, row: usize, header: &str, value: &str) -> &mut Self {
        let c = self.col(header);
        self.rows[row][c] = value.to_string();
        self
    }

    pub fn rename(&mut self, header: &str, to: &str) -> &mut Self {
        let c = self.col(header);
        self.headers[c] = to.to_string();
        self
    }

    pub fn remove_column(&mut self, header: &str) -> &mut Self {
        let c = self.col(header);
        self.headers.remove(c);
        for r in &mut self.rows {
            r.remove(c);
        }
        self
    }

    /// The spreadsheet row number of data row `i`.
    pub fn row_number(&self, i: usize) -> usize {
        i + 2 + usize::from(self.title.is_some())
    }

    pub fn write_xlsx(&self, path: &Path) {
        let mut wb = Workbook::new();
        // a sheet without the layout first: the reader must skip it
        let mut cover = Worksheet::new();
        cover.set_name("封面").unwrap();
        cover.write_string(0, 0, "农户信息导出").unwrap();
        wb.push_worksheet(cover);
        let ws = wb.add_worksheet();
        let mut r = 0u32;
        if let Some(t) = &self.title {
            ws.write_string(0, 0, t).unwrap();
            r = 1;
        }
        for (c, h) in self.headers.iter().enumerate() {
            ws.write_string(r, c as u16, h).unwrap();
        }
        for (i, row) in self.rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                let typed = self.typed.iter().find(|(ti, th, _)| *ti == i && self.col(th) == c);
                let rr = r + 1 + i as u32;
                match typed {
                    Some((_, _, Typed::Number(n))) => {
                        ws.write_number(rr, c as u16, *n).unwrap();
                    }
                    Some((_, _, Typed::Date(y, m, d))) => {
                        let dt = rust_xlsxwriter::ExcelDateTime::from_ymd(*y, *m, *d).unwrap();
                        let f = rust_xlsxwriter::Format::new().set_num_format("yyyy/m/d");
                        ws.write_datetime_with_format(rr, c as u16, &dt, &f).unwrap();
                    }
                    None if !v.is_empty() => {
                        ws.write_string(rr, c as u16, v).unwrap();
                    }
                    None => {}
                }
            }
        }
        wb.save(path).unwrap();
    }

    pub fn csv_text(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        if let Some(t) = &self.title {
            let mut line = vec![t.clone()];
            line.resize(self.headers.len(), String::new());
            w.write_record(&line).unwrap();
        }
        w.write_record(&self.headers).unwrap();
        for r in &self.rows {
            w.write_record(r).unwrap();
        }
        String::from_utf8(w.into_inner().unwrap()).unwrap()
    }

    pub fn write_csv(&self, path: &Path) {
        std::fs::write(path, self.csv_text()).unwrap();
    }

    pub fn write_csv_gbk(&self, path: &Path) {
        let text = self.csv_text();
        let (bytes, _, unmappable) = encoding_rs::GBK.encode(&text);
        assert!(!unmappable);
        std::fs::write(path, bytes).unwrap();
    }
}

#[allow(clippy::too_many_arguments)]
fn member(
    name: &str,
    id: &str,
    relation: &str,
    sex: &str,
    education: &str,
    school: &str,
    health: &str,
    disability: &str,
    labour: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("姓名", name.into()),
        ("证件号码", id.into()),
        ("与户主关系", relation.into()),
        ("性别", sex.into()),
        ("民族", "壮族".into()),
        ("政治面貌", "群众".into()),
        ("文化程度", education.into()),
        ("在校生状况", school.into()),
        ("健康状况", health.into()),
        ("残疾类别", disability.into()),
        ("劳动技能", labour.into()),
        ("是否参加城乡居民基本医疗保险", "是".into()),
        ("是否参加城镇职工基本医疗保险", "否".into()),
        ("是否参加城乡居民基本养老保险", "是".into()),
        ("是否享受低保", "否".into()),
        ("是否特困供养", "否".into()),
    ]
}

pub struct Dir(pub tempfile::TempDir);

impl Dir {
    pub fn new() -> Dir {
        Dir(tempfile::tempdir().unwrap())
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
}
