//! `fangpin serve`: the web server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use domain::ports::{HouseholdFilter, HouseholdStore, UserStore};

use crate::Ctx;

pub async fn run(ctx: &Ctx, demo: bool) -> anyhow::Result<std::process::ExitCode> {
    let db = ctx.ready_db(ctx.config.auto_migrate).await?;
    let empty = db.count_users().await? == 0
        && db.list_households(&domain::Scope::system(), &HouseholdFilter::default(), None, 1).await?.total == 0;
    // the demo runs as of the 2022 campaign — only when it is loaded now, never over real data
    let demo_ctx;
    let ctx = if demo && empty && ctx.config.now.is_none() {
        let config = crate::config::Config { now: Some(super::demo::DEMO_NOW.to_string()), ..ctx.config.clone() };
        demo_ctx = Ctx { clock: crate::make_clock(&config)?, config };
        &demo_ctx
    } else {
        ctx
    };
    if demo {
        if empty {
            super::demo::load(ctx, &db, 2022, None).await?;
        } else {
            say!(
                "the database is not empty: serving it as it is (no demo loaded, real clock) / 数据库非空，未装入演示数据"
            );
        }
        super::demo::print_logins(&db).await?;
    } else if db.count_users().await? == 0 {
        say!(
            "no users yet: create one with `fangpin admin create-user --username admin --role admin --region <12-digit code>`, \
             or run `fangpin serve --demo` on an empty database / 尚无用户"
        );
    }
    if let Some(now) = &ctx.config.now {
        say!("clock set to {now} (it keeps ticking from there) / 系统时间设为 {now}");
    }
    let web_config = web::WebConfig {
        idle_timeout: Duration::from_secs(ctx.config.idle_timeout_minutes.max(1) * 60),
        secure_cookies: ctx.config.secure_cookies,
        max_upload_bytes: ctx.config.max_upload_mb.max(1) * 1024 * 1024,
        work_dir: ctx.config.work_dir(),
        // at most an hour: figures older than four times this are never served
        dashboard_cache: Duration::from_secs(ctx.config.dashboard_cache_seconds.min(3600)),
        ..Default::default()
    };
    let state = web::AppState::new(db.clone(), Arc::clone(&ctx.clock), web_config);
    if ctx.config.resident_at_start {
        // behind the first requests: the pages do not need it, only a full screening does
        let s = state.clone();
        tokio::spawn(async move { s.resident.preload(&s.db).await });
    }
    let addr: SocketAddr = ctx.config.bind.parse().map_err(|e| anyhow::anyhow!("--bind {}: {e}", ctx.config.bind))?;
    let listener =
        tokio::net::TcpListener::bind(addr).await.map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    let shown = listener.local_addr()?;
    say!("fangpin is listening on http://{shown}/ (Ctrl-C to stop) / 服务已启动：http://{shown}/");
    web::serve(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
        say!("stopping / 正在停止");
    })
    .await?;
    db.close().await;
    Ok(std::process::ExitCode::SUCCESS)
}
