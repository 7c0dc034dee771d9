//! `fangpin admin|params|audit|import regions`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{anyhow, bail};
use domain::account::{Actor, Role, Scope};
use domain::params::ParamName;
use domain::ports::{ParamStore, RegionStore, SessionKind, SessionStore, UserStore};
use domain::region::RegionCode;

use crate::Ctx;

pub async fn create_user(
    ctx: &Ctx,
    username: &str,
    role: &str,
    region: &str,
    display_name: &str,
    department: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let role = Role::from_key(role).ok_or_else(|| {
        anyhow!("unknown role {role:?}; one of: {}", Role::ALL.iter().map(|r| r.key()).collect::<Vec<_>>().join(", "))
    })?;
    let region = RegionCode::parse(region)?;
    let department = match (role, department) {
        (Role::DepartmentStaff, Some(d)) => Some(domain::measure::Department::from_key(d).ok_or_else(|| {
            anyhow!("unknown department {d:?}; one of: {} / 未知的部门", domain::measure::Department::labels_hint())
        })?),
        (Role::DepartmentStaff, None) => {
            return Err(anyhow!("department_staff needs --department (e.g. 医保) / 行业部门须指定 --department"));
        }
        (_, Some(_)) => return Err(anyhow!("--department is only for department_staff / 仅行业部门角色可指定部门")),
        (_, None) => None,
    };
    let db = ctx.ready_db(false).await?;
    let password = super::read_password()?;
    let u =
        web::auth::create_user(&db, &Actor::cli(), ctx.clock.now(), username, display_name, role, region, &password)
            .await?;
    if let Some(d) = department {
        domain::ports::DepartmentTaskStore::set_user_department(&db, &Actor::cli(), ctx.clock.now(), u.id, Some(d))
            .await?;
    }
    say!("created user {} ({}, region {}) / 已创建用户", u.username, u.role.label(), u.region);
    Ok(ExitCode::SUCCESS)
}

pub async fn reset_password(ctx: &Ctx, username: &str) -> anyhow::Result<ExitCode> {
    let db = ctx.ready_db(false).await?;
    let (u, _) = db.user_by_username(username).await?.ok_or_else(|| anyhow!("no user {username:?} / 用户不存在"))?;
    let password = super::read_password()?;
    web::auth::reset_password(&db, &Actor::cli(), ctx.clock.now(), &u, &password).await?;
    say!("password set and account unlocked for {} / 已重设密码并解锁", u.username);
    Ok(ExitCode::SUCCESS)
}

pub async fn list_users(ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let db = ctx.ready_db(false).await?;
    let now = ctx.clock.now();
    for u in db.list_users(&Scope::system()).await? {
        let state = if !u.active {
            "disabled"
        } else if u.is_locked(now) {
            "locked"
        } else {
            "active"
        };
        say!("{:<20} {:<18} {} {} {}", u.username.as_str(), u.role.key(), u.region, state, u.display_name);
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn create_token(ctx: &Ctx, username: &str, days: Option<i64>) -> anyhow::Result<ExitCode> {
    let db = ctx.ready_db(false).await?;
    let (u, _) = db.user_by_username(username).await?.ok_or_else(|| anyhow!("no user {username:?} / 用户不存在"))?;
    let token = web::auth::new_token();
    let now = ctx.clock.now();
    let expires = days.map(|d| now + chrono::Duration::days(d));
    let e = domain::audit::AuditEntry::new(now, &Actor::cli(), domain::audit::AuditAction::Create, "user", u.id.0)
        .note(format!("为 {} 创建集成令牌{}", u.username, days.map(|d| format!("（{d}天有效）")).unwrap_or_default()));
    db.create_session(
        &web::auth::token_hash(&token),
        u.id,
        SessionKind::Integration,
        &web::auth::new_token(),
        now,
        expires,
        &[e],
    )
    .await?;
    say!("{token}");
    eprintln!(
        "token for {} — shown once, keep it secret; send as `Authorization: Bearer <token>` / 令牌只显示一次",
        u.username
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn import_regions(ctx: &Ctx, file: &Path) -> anyhow::Result<ExitCode> {
    let db = ctx.ready_db(false).await?;
    let regions = exchange::regions::read_regions(file)?;
    let known: std::collections::HashSet<RegionCode> =
        db.all_regions().await?.iter().map(|r| r.code).chain(regions.iter().map(|r| r.code)).collect();
    let mut sorted = regions.clone();
    sorted.sort_by_key(|r| r.code);
    for r in &sorted {
        if let Some(p) = r.code.parent()
            && !known.contains(&p)
        {
            bail!("region {} ({}) has no parent {p} in the file or the database / 上级区划缺失", r.code, r.name);
        }
    }
    let changed = db.upsert_regions(&Actor::cli(), ctx.clock.now(), &sorted).await?;
    say!(
        "{} regions read, {changed} added or renamed / 读取 {} 个区划，新增或更名 {changed} 个",
        sorted.len(),
        sorted.len()
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn params_set(
    ctx: &Ctx,
    year: i32,
    region: &str,
    name: &str,
    value: &str,
    example: bool,
    note: &str,
) -> anyhow::Result<ExitCode> {
    let region = RegionCode::parse(region)?;
    let Some(name) = ParamName::from_key(name) else {
        let known: Vec<&str> = ParamName::ALL.iter().map(|n| n.key()).collect();
        bail!("unknown parameter “{name}” / 没有这个参数；可用：{}", known.join(", "));
    };
    let value = domain::params::parse_value(name, value)?;
    let db = ctx.ready_db(false).await?;
    let p = db.set_param(&Actor::cli(), ctx.clock.now(), year, region, name, value, example, note).await?;
    say!(
        "{} {} {}: {} (version {}{}) / 已设定",
        p.year,
        p.region,
        p.name.key(),
        p.name.display_value(p.value),
        p.version,
        if p.example { ", example 示例值" } else { "" }
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn params_list(ctx: &Ctx, year: Option<i32>) -> anyhow::Result<ExitCode> {
    let db = ctx.ready_db(false).await?;
    let params = db.params(year).await?;
    if params.is_empty() {
        say!("no parameters set / 尚未设定参数");
    }
    for p in params {
        say!(
            "{} {} {:<16} v{} {}{} — {} ({})",
            p.year,
            p.region,
            p.name.key(),
            p.version,
            p.name.display_value(p.value),
            if p.example { " [示例值]" } else { "" },
            p.note,
            p.set_by
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn audit_verify(ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let db = ctx.ready_db(false).await?;
    match store::verify_audit(&db).await {
        Ok(v) => {
            say!("audit log intact: {} rows, hash chain unbroken / 审计日志完整：{} 条", v.rows, v.rows);
            say!("last row {} hash {}", v.last_id, v.last_hash);
            say!(
                "keep these two values elsewhere: rows deleted from the end can only be noticed against them / 请另行记下最后一条的编号和哈希"
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(store::AuditVerifyError::Broken(b)) => {
            say!("audit log BROKEN at row {}: {b} / 审计日志被改动，第 {} 行", b.row(), b.row());
            Ok(ExitCode::from(3))
        }
        Err(store::AuditVerifyError::Store(e)) => Err(e.into()),
    }
}
