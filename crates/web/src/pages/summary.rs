//! 工作总结 (issue 7): a village's or the town's campaign summary on any date — tables computed
//! from the data, the words typed by the village or the town — printable on A4 and as xlsx. The
//! page and the workbook are built from the same tables, so they cannot disagree.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use chrono::NaiveDate;
use domain::audit::{AuditAction, AuditEntry};
use domain::campaign::CampaignId;
use domain::codes::{EliminationMode, MonitoringCategory};
use domain::measure::Department;
use domain::ports::{AuditStore, FindingStatus};
use domain::region::RegionCode;
use domain::rules::FindingCode;
use domain::service::EditError;
use domain::summary::{Figures, Metric, Summary, SummaryNotes};
use serde::Deserialize;

use super::{Chrome, Opt, redirect_with_flash, render, render_status};
use crate::AppState;
use crate::auth::{Authed, PageAuth};
use crate::error::PageError;
use crate::regions::RegionIndex;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/summary", get(page))
        .route("/summary.xlsx", get(export))
        .route("/summary/notes", post(save_notes))
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SummaryQuery {
    pub region: String,
    pub campaign: String,
    pub as_of: String,
}

impl SummaryQuery {
    fn region(&self) -> Result<Option<RegionCode>, PageError> {
        match self.region.trim() {
            "" => Ok(None),
            r => RegionCode::parse(r).map(Some).map_err(|_| PageError::NotFound),
        }
    }
    fn campaign(&self) -> Option<CampaignId> {
        self.campaign.trim().parse().ok().map(CampaignId)
    }
    fn as_of(&self, today: NaiveDate) -> NaiveDate {
        NaiveDate::parse_from_str(self.as_of.trim(), "%Y-%m-%d").map(|d| d.min(today)).unwrap_or(today)
    }
}

/// One table of the summary: its title, column headers and rows (first column a label).
pub struct Table {
    pub title: &'static str,
    pub headers: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

fn n(v: i64) -> String {
    v.to_string()
}

fn percent(part: i64, whole: i64) -> String {
    if whole == 0 { "—".into() } else { format!("{}%", part * 100 / whole) }
}

/// The summary's tables, for the page and the workbook alike.
pub fn tables(s: &Summary, regions: &RegionIndex) -> Vec<Table> {
    let f = &s.total;
    let mut out = Vec::new();
    let monitored: i64 = f.total(Metric::MonitoredAt);
    let mut basics = vec![
        vec!["农户".into(), n(f.total(Metric::Households)), "户".into()],
        vec!["集中排查任务".into(), n(f.total(Metric::Tasks)), "户".into()],
        vec![
            "已入户核查".into(),
            n(f.total(Metric::VisitedInPerson)),
            format!("入户覆盖率 {}", percent(f.total(Metric::VisitedInPerson), f.total(Metric::Tasks))),
        ],
        vec!["仅电话、微信等线上核查".into(), n(f.total(Metric::RemoteOnly)), "须补入户".into()],
        vec!["监测对象（截至当日）".into(), n(monitored), "户".into()],
    ];
    for c in MonitoringCategory::ALL {
        basics.push(vec![format!("　其中{}", c.label()), n(f.get(Metric::MonitoredAt, c.code())), "户".into()]);
    }
    out.push(Table { title: "一、基本情况", headers: vec!["项目", "数量", "说明"], rows: basics });

    let handled = |c: FindingCode, st: FindingStatus| f.handled(c, st);
    let rows = FindingCode::ALL
        .iter()
        .map(|c| {
            let found = f.get(Metric::FindingsFound, c.code());
            let clue = handled(*c, FindingStatus::Clue);
            let dismissed = handled(*c, FindingStatus::Dismissed);
            let resolved = handled(*c, FindingStatus::Resolved);
            vec![c.label().into(), n(found), n(clue), n(dismissed), n(resolved), n(found - clue - dismissed - resolved)]
        })
        .collect();
    out.push(Table {
        title: "二、排查发现（按排查内容）",
        headers: vec!["排查内容", "发现", "已转线索", "已排除", "已解决", "待处理"],
        rows,
    });

    let mut inc = Vec::new();
    for c in MonitoringCategory::ALL {
        inc.push(vec![format!("新纳入{}", c.label()), n(f.get(Metric::Included, c.code()))]);
    }
    inc.push(vec!["新纳入合计".into(), n(f.total(Metric::Included))]);
    for m in EliminationMode::ALL {
        inc.push(vec![format!("风险消除（{}）", m.label()), n(f.get(Metric::Eliminated, m.code()))]);
    }
    inc.push(vec!["风险消除合计".into(), n(f.total(Metric::Eliminated))]);
    out.push(Table { title: "三、新纳入监测和风险消除", headers: vec!["项目", "户数"], rows: inc });

    let mut help = vec![
        vec!["落实帮扶责任人".into(), n(f.total(Metric::OfficersAssigned)), "人次".into()],
        vec!["新制定帮扶措施".into(), n(f.total(Metric::MeasuresPlanned)), "项".into()],
        vec!["已落实帮扶措施".into(), n(f.total(Metric::MeasuresCompleted)), "项".into()],
        vec!["向行业部门推送任务".into(), n(f.total(Metric::DepartmentTasksPushed)), "项".into()],
        vec!["部门已办结".into(), n(f.total(Metric::DepartmentTasksCompleted)), "项".into()],
    ];
    for d in Department::ALL {
        let pushed = f.get(Metric::DepartmentTasksPushed, d.code());
        if pushed > 0 {
            help.push(vec![
                format!("　其中{}", d.label()),
                n(pushed),
                format!("已办结 {}", f.get(Metric::DepartmentTasksCompleted, d.code())),
            ]);
        }
    }
    out.push(Table { title: "四、落实帮扶措施", headers: vec!["项目", "数量", "单位"], rows: help });

    let found = f.total(Metric::RectificationsFound);
    let closed = f.total(Metric::RectificationsClosed);
    out.push(Table {
        title: "五、督导检查和问题整改",
        headers: vec!["项目", "数量"],
        rows: vec![
            vec!["督导检查".into(), n(f.total(Metric::Inspections))],
            vec!["发现问题".into(), n(found)],
            vec!["已整改".into(), n(closed)],
            vec!["未整改".into(), n(found - closed)],
        ],
    });
    out.push(Table {
        title: "六、部门筛查预警",
        headers: vec!["项目", "数量"],
        rows: vec![
            vec!["收到预警".into(), n(f.total(Metric::AlertsRaised))],
            vec!["已核实".into(), n(f.total(Metric::AlertsConcluded))],
            vec!["待核实".into(), n(f.total(Metric::AlertsRaised) - f.total(Metric::AlertsConcluded))],
        ],
    });
    if !s.villages.is_empty() {
        let row = |name: String, v: &Figures| {
            vec![
                name,
                n(v.total(Metric::Households)),
                percent(v.total(Metric::VisitedInPerson), v.total(Metric::Tasks)),
                n(v.total(Metric::FindingsFound)),
                n(v.total(Metric::Included)),
                n(v.total(Metric::Eliminated)),
                n(v.total(Metric::MeasuresPlanned)),
                n(v.total(Metric::RectificationsFound)),
                n(v.total(Metric::RectificationsClosed)),
            ]
        };
        let mut rows: Vec<Vec<String>> = s.villages.iter().map(|(c, v)| row(regions.name(*c), v)).collect();
        rows.push(row("合计".into(), f));
        out.push(Table {
            title: "七、各村情况",
            headers: vec![
                "村",
                "户数",
                "入户覆盖率",
                "排查发现",
                "新纳入",
                "风险消除",
                "新制定措施",
                "督导发现问题",
                "已整改",
            ],
            rows,
        });
    }
    out
}

#[derive(Template)]
#[template(path = "summary.html")]
struct SummaryPage {
    chrome: Chrome,
    title: String,
    period: String,
    regions: Vec<Opt>,
    region_code: String,
    campaign: String,
    as_of: String,
    query: String,
    tables: Vec<Table>,
    notes: SummaryNotes,
    notes_updated: String,
    can_write: bool,
    error: Option<String>,
}

async fn build(
    state: &AppState,
    a: &Authed,
    q: &SummaryQuery,
) -> Result<(Summary, std::sync::Arc<RegionIndex>), PageError> {
    let to = q.as_of(state.clock.today());
    let s = domain::summary::summary(&state.db, &a.scope, q.region()?, q.campaign(), to).await?;
    Ok((s, state.regions.get().await))
}

fn region_options(a: &Authed, regions: &RegionIndex, chosen: RegionCode) -> Vec<Opt> {
    let mut out = Vec::new();
    if let Some(own) = a.scope.region()
        && own.level() != domain::region::RegionLevel::Village
    {
        out.push(Opt {
            value: own.to_string(),
            label: format!("{}（汇总）", regions.name(own)),
            selected: own == chosen,
        });
    }
    out.extend(regions.villages_in(&a.scope).into_iter().map(|v| Opt {
        value: v.code.to_string(),
        label: v.name.clone(),
        selected: v.code == chosen,
    }));
    out
}

async fn summary_page(
    state: &AppState,
    a: &Authed,
    headers: &HeaderMap,
    q: &SummaryQuery,
    typed: Option<(SummaryNotes, String)>,
) -> Result<SummaryPage, PageError> {
    let (s, regions) = build(state, a, q).await?;
    let campaign = s.campaign.as_ref().map(|c| c.id.0.to_string()).unwrap_or_default();
    let query = format!("region={}&campaign={campaign}&as_of={}", s.region, s.to);
    let (notes, error) = match typed {
        Some((n, e)) => (n, Some(e)),
        None => (s.notes.clone(), None),
    };
    Ok(SummaryPage {
        chrome: Chrome::new(state, a, headers).await,
        title: format!(
            "{}{}工作总结",
            regions.name(s.region),
            s.campaign.as_ref().map(|c| format!("“{}”", c.name)).unwrap_or_default()
        ),
        period: format!("{} 至 {}", s.from, s.to),
        regions: region_options(a, &regions, s.region),
        region_code: s.region.to_string(),
        campaign,
        as_of: s.to.to_string(),
        query,
        notes_updated: match (&s.notes.updated_at, s.notes.version) {
            (Some(t), v) if v > 0 => format!("{} 于 {} 保存", s.notes.updated_by, crate::views::china_time(*t)),
            _ => String::new(),
        },
        tables: tables(&s, &regions),
        notes,
        can_write: domain::summary::may_write(&a.scope, s.region),
        error,
    })
}

pub async fn page(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Query(q): Query<SummaryQuery>,
) -> Result<Response, PageError> {
    if !super::dashboard::sees_dashboard(&a) {
        return Err(PageError::Forbidden);
    }
    let tpl = summary_page(&state, &a, &headers, &q, None).await?;
    render(&tpl, &tpl.chrome)
}

pub async fn export(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    Query(q): Query<SummaryQuery>,
) -> Result<Response, PageError> {
    if !super::dashboard::sees_dashboard(&a) {
        return Err(PageError::Forbidden);
    }
    let (s, regions) = build(&state, &a, &q).await?;
    let ts = tables(&s, &regions);
    let mut sheets: Vec<exchange::SheetTable<'_>> = ts
        .iter()
        .map(|t| exchange::SheetTable {
            name: t.title,
            headers: t.headers.clone(),
            widths: t.headers.iter().enumerate().map(|(i, _)| if i == 0 { 28.0 } else { 14.0 }).collect(),
            rows: t.rows.clone(),
        })
        .collect();
    sheets.push(exchange::SheetTable {
        name: "文字部分",
        headers: vec!["部分", "内容"],
        widths: vec![16.0, 100.0],
        rows: vec![
            vec!["工作开展情况".into(), s.notes.work_done.clone()],
            vec!["存在的问题".into(), s.notes.problems.clone()],
            vec!["下一步工作打算".into(), s.notes.next_steps.clone()],
        ],
    });
    let name = format!("{}工作总结_{}.xlsx", regions.name(s.region), s.to);
    let bytes = exchange::write_sheets(Vec::new(), &sheets).map_err(|e| PageError::BadRequest(e.to_string()))?;
    let e = AuditEntry::new(state.clock.now(), &a.actor(), AuditAction::Export, "summary", s.region)
        .region(s.region)
        .note(format!("导出工作总结（{}，截至 {}）", regions.name(s.region), s.to));
    state.db.append_audit(&[e]).await?;
    Ok(super::transfer::download(exchange::FileFormat::Xlsx, &name, bytes))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NotesForm {
    region: String,
    campaign: String,
    as_of: String,
    version: i64,
    work_done: String,
    problems: String,
    next_steps: String,
}

pub async fn save_notes(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    axum::Form(f): axum::Form<NotesForm>,
) -> Result<Response, PageError> {
    let q = SummaryQuery { region: f.region.clone(), campaign: f.campaign.clone(), as_of: f.as_of.clone() };
    let region = q.region()?.ok_or(PageError::NotFound)?;
    let notes = SummaryNotes {
        work_done: f.work_done.trim().to_string(),
        problems: f.problems.trim().to_string(),
        next_steps: f.next_steps.trim().to_string(),
        version: f.version,
        ..Default::default()
    };
    let r =
        domain::summary::save_notes(&state.db, &a.actor(), &a.scope, state.clock.now(), q.campaign(), region, &notes)
            .await;
    match r {
        Ok(_) => {
            let campaign = q.campaign().map(|c| c.0.to_string()).unwrap_or_default();
            let as_of = q.as_of(state.clock.today());
            Ok(redirect_with_flash(
                &format!("/summary?region={region}&campaign={campaign}&as_of={as_of}"),
                "总结的文字部分已保存",
            ))
        }
        Err(e @ EditError::Stale { .. }) => {
            // what was typed stays; saving again (after reading the message) overwrites
            let current = if let EditError::Stale { current, .. } = &e { *current } else { 0 };
            let message = format!("{e}（您填写的内容仍在下面，确认后可再次保存）");
            let typed = SummaryNotes { version: current, ..notes };
            let tpl = summary_page(&state, &a, &headers, &q, Some((typed, message))).await?;
            render_status(StatusCode::CONFLICT, &tpl, &tpl.chrome)
        }
        Err(e) => Err(e.into()),
    }
}
