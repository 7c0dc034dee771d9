//! The work calendar for administrators (DOMAIN D10, D11): the years it covers, its days by year,
//! add / change / remove a day, and the whole data as a file (download, or upload to replace).

use askama::Template;
use axum::Router;
use axum::extract::{Multipart, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum_extra::extract::Form;
use chrono::{Datelike, NaiveDate};
use domain::account::Permission;
use domain::calendar::{DayEntry, DayKind, WorkCalendar};
use domain::region::{RegionCode, RegionLevel};
use domain::service::{self, EditError};
use serde::Deserialize;

use super::{Chrome, FormField, Opt, redirect_with_flash, render, render_status, require};
use crate::AppState;
use crate::auth::{Authed, PageAuth};
use crate::error::PageError;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/calendar", get(show).post(put_day))
        .route("/admin/calendar/delete", post(delete_day))
        .route("/admin/calendar.csv", get(download))
        .route("/admin/calendar/upload", post(upload))
}

const WEEKDAYS: [&str; 7] = ["一", "二", "三", "四", "五", "六", "日"];

pub struct DayLine {
    pub date: String,
    pub weekday: String,
    pub kind: &'static str,
    pub kind_key: &'static str,
    pub region: String,
    pub region_code: String,
    pub name: String,
    pub source: String,
}

/// Working days of a year, nationally and in each region that has its own days.
pub struct YearCount {
    pub label: String,
    pub workdays: usize,
}

#[derive(Template)]
#[template(path = "calendar.html")]
struct Page {
    chrome: Chrome,
    years: String,
    year: i32,
    year_opts: Vec<Opt>,
    counts: Vec<YearCount>,
    days: Vec<DayLine>,
    fields: Vec<FormField>,
    error: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DayForm {
    date: String,
    kind: String,
    region: String,
    name: String,
    source: String,
    year: String,
}

/// National, and the provinces of the region tree (a regional day applies to the whole subtree).
async fn region_choices(state: &AppState) -> Vec<(String, String)> {
    let regions = state.regions.get().await;
    let mut v = vec![(String::new(), "全国".to_string())];
    v.extend(
        regions
            .sorted
            .iter()
            .filter(|r| matches!(r.level(), RegionLevel::Province | RegionLevel::City | RegionLevel::County))
            .map(|r| (r.code.to_string(), format!("{}（{}）", r.name, r.level().label()))),
    );
    v
}

fn region_name(regions: &crate::regions::RegionIndex, r: Option<RegionCode>) -> String {
    r.map_or_else(|| "全国".to_string(), |r| regions.name(r))
}

async fn page(
    state: &AppState,
    a: &Authed,
    headers: &HeaderMap,
    year: Option<i32>,
    f: &DayForm,
    error: Option<String>,
) -> Page {
    let cal = state.calendar();
    let regions = state.regions.get().await;
    let span = cal.years();
    let year = year
        .filter(|y| span.contains(y))
        .unwrap_or_else(|| state.clock.today().year().clamp(*span.start(), *span.end()));
    let days = cal
        .entries()
        .iter()
        .filter(|e| e.date.year() == year)
        .map(|e| DayLine {
            date: e.date.to_string(),
            weekday: format!("周{}", WEEKDAYS[e.date.weekday().num_days_from_monday() as usize]),
            kind: e.kind.label(),
            kind_key: e.kind.key(),
            region: region_name(&regions, e.region),
            region_code: e.region.map(|r| r.to_string()).unwrap_or_default(),
            name: e.name.clone(),
            source: e.source.clone(),
        })
        .collect();
    let mut counts =
        vec![YearCount { label: "全国".into(), workdays: count_workdays(&cal.national_only(), year, None) }];
    let mut regional: Vec<RegionCode> = cal.entries().iter().filter_map(|e| e.region).collect();
    regional.sort();
    regional.dedup();
    for r in regional {
        counts.push(YearCount { label: regions.name(r), workdays: count_workdays(&cal, year, Some(r)) });
    }
    let kinds = vec![("holiday".to_string(), "放假".to_string()), ("workday".to_string(), "调休上班".to_string())];
    let fields = vec![
        FormField::text("date", "日期", &f.date).kind("date").required(),
        FormField::choices("kind", "类别", if f.kind.is_empty() { "holiday" } else { &f.kind }, false, kinds)
            .help("调休上班只能是周六或周日"),
        FormField::choices("region", "适用范围", &f.region, false, region_choices(state).await)
            .help("地区的节日（如壮族三月三）选该省区，对其下所有区划生效"),
        FormField::text("name", "节日名称", &f.name).required().help("如：劳动节、壮族三月三"),
        FormField::text("source", "依据", &f.source).help("文件名称或文号，如：国办发明电〔2021〕11号"),
    ];
    Page {
        chrome: Chrome::new(state, a, headers).await,
        years: format!("{}—{}年", span.start(), span.end()),
        year,
        year_opts: span
            .clone()
            .map(|y| Opt { value: y.to_string(), label: format!("{y}年"), selected: y == year })
            .collect(),
        counts,
        days,
        fields,
        error,
    }
}

fn count_workdays(cal: &WorkCalendar, year: i32, region: Option<RegionCode>) -> usize {
    let region = region.unwrap_or_else(|| RegionCode::from_u64(110_000_000_000).expect("a valid code"));
    let (Some(first), Some(last)) = (NaiveDate::from_ymd_opt(year, 1, 1), NaiveDate::from_ymd_opt(year, 12, 31)) else {
        return 0;
    };
    first.iter_days().take_while(|d| *d <= last).filter(|d| cal.is_workday(*d, region).unwrap_or(false)).count()
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct YearQuery {
    year: String,
}

pub async fn show(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Query(q): Query<YearQuery>,
) -> Result<Response, PageError> {
    require(&a, Permission::SetParams)?;
    let tpl = page(&state, &a, &headers, q.year.parse().ok(), &DayForm::default(), None).await;
    render(&tpl, &tpl.chrome)
}

pub async fn put_day(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    Form(f): Form<DayForm>,
) -> Result<Response, PageError> {
    require(&a, Permission::SetParams)?;
    let mut problems = Vec::new();
    let date = domain::text::parse_date(&f.date);
    if date.is_none() {
        problems.push(format!("日期“{}”无效，请写成 2022-04-04", f.date));
    }
    let kind = DayKind::parse(&f.kind);
    if kind.is_none() {
        problems.push("请选择放假或调休上班".to_string());
    }
    let region = if f.region.trim().is_empty() {
        None
    } else {
        match RegionCode::parse(&f.region) {
            Ok(r) => Some(r),
            Err(e) => {
                problems.push(e.to_string());
                None
            }
        }
    };
    if f.name.trim().is_empty() {
        problems.push("请填写节日名称".to_string());
    }
    let year = date.map(|d| d.year());
    let mut error = (!problems.is_empty()).then(|| problems.join("；"));
    if let (None, Some(date), Some(kind)) = (&error, date, kind) {
        let entry =
            DayEntry { date, kind, region, name: f.name.trim().to_string(), source: f.source.trim().to_string() };
        match service::put_calendar_day(&state.db, state.clock.now(), &a.scope, &a.actor(), entry).await {
            Ok(c) => {
                state.set_calendar(c);
                return Ok(redirect_with_flash(
                    &format!("/admin/calendar?year={}", date.year()),
                    &format!("已保存 {date} {}（{}）", kind.label(), f.name.trim()),
                ));
            }
            Err(EditError::Invalid(e)) => error = Some(e.to_string()),
            Err(e) => return Err(e.into()),
        }
    }
    let tpl = page(&state, &a, &headers, year, &f, error).await;
    render_status(StatusCode::UNPROCESSABLE_ENTITY, &tpl, &tpl.chrome)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DeleteForm {
    date: String,
    region: String,
}

pub async fn delete_day(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    Form(f): Form<DeleteForm>,
) -> Result<Response, PageError> {
    require(&a, Permission::SetParams)?;
    let date = domain::text::parse_date(&f.date).ok_or(PageError::NotFound)?;
    let region =
        if f.region.is_empty() { None } else { Some(RegionCode::parse(&f.region).map_err(|_| PageError::NotFound)?) };
    let c = service::delete_calendar_day(&state.db, state.clock.now(), &a.scope, &a.actor(), date, region).await?;
    state.set_calendar(c);
    Ok(redirect_with_flash(
        &format!("/admin/calendar?year={}", date.year()),
        &format!("已删除 {date}，该日恢复为普通日"),
    ))
}

pub async fn download(State(state): State<AppState>, PageAuth(a): PageAuth) -> Result<Response, PageError> {
    require(&a, Permission::SetParams)?;
    let body = state.calendar().to_csv();
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"calendar.csv\""),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response())
}

/// The calendar file is small: 1 MB is far more than ten years of holidays.
const MAX_CALENDAR_FILE: usize = 1 << 20;

pub async fn upload(
    State(state): State<AppState>,
    PageAuth(a): PageAuth,
    headers: HeaderMap,
    mut mp: Multipart,
) -> Result<Response, PageError> {
    require(&a, Permission::SetParams)?;
    let mut text = None;
    let mut name = String::new();
    let mut error = None;
    while let Ok(Some(field)) = mp.next_field().await {
        if field.name() != Some("file") {
            continue;
        }
        name = field.file_name().unwrap_or("").to_string();
        match field.bytes().await {
            Ok(b) if b.len() > MAX_CALENDAR_FILE => error = Some("文件过大：工作日历文件应小于1 MB".to_string()),
            Ok(b) => match String::from_utf8(b.to_vec()) {
                Ok(t) => text = Some(t),
                Err(_) => error = Some("文件不是UTF-8编码：请用“下载”得到的文件修改后上传".to_string()),
            },
            Err(e) => error = Some(format!("上传失败：{e}")),
        }
    }
    if let (None, Some(t)) = (&error, &text) {
        match service::replace_calendar_csv(&state.db, state.clock.now(), &a.scope, &a.actor(), t, &name).await {
            Ok(c) => {
                let msg = format!(
                    "已用“{name}”替换工作日历：{}天，{}—{}年",
                    c.entries().len(),
                    c.years().start(),
                    c.years().end()
                );
                state.set_calendar(c);
                return Ok(redirect_with_flash("/admin/calendar", &msg));
            }
            Err(EditError::Invalid(e)) => error = Some(format!("没有替换：{e}")),
            Err(e) => return Err(e.into()),
        }
    }
    let error = error.or_else(|| Some("请选择要上传的文件".to_string()));
    let tpl = page(&state, &a, &headers, None, &DayForm::default(), error).await;
    render_status(StatusCode::UNPROCESSABLE_ENTITY, &tpl, &tpl.chrome)
}
