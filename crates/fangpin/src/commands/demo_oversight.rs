//! The demo's oversight (issue 7): the seed's two 督导组 with their villages and members (names
//! from the synthetic generator), and — when the demo runs past the campaign's first weeks — their
//! inspections (samples drawn from seeds), rectifications closed with evidence, and the words of
//! the town's and a village's summary. Everything goes through the service functions, on the
//! simulated days.

use anyhow::anyhow;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use domain::account::{Actor, Role};
use domain::ports::{RectificationFilter, SupervisionStore, UserStore};
use domain::region::{LUORONG_VILLAGES, RegionCode};
use domain::supervision::{GroupInput, InspectionInput, ProblemInput, RectificationStatus};

use super::demo::DEMO_PASSWORD;

const TOWN: u64 = 450_203_100_000;
/// 督导一组 and 督导二组 (seed 四: 集中排查督导组).
const GROUPS: [(&str, &[&str]); 2] = [
    ("督导一组", &["大正村", "东塘村", "秀水村", "竹车村", "半塘村", "高岩村", "南庆村"]),
    ("督导二组", &["果园村", "坭桥村", "盘古村", "龙岭村", "竹桐村", "连丰村"]),
];
/// The group members' accounts: the existing `supervisor` and three more.
const MEMBERS: [(&str, usize); 4] = [("supervisor", 0), ("duda2", 0), ("dudb1", 1), ("dudb2", 1)];

fn village(name: &str) -> anyhow::Result<RegionCode> {
    let i = LUORONG_VILLAGES.iter().position(|v| *v == name).ok_or_else(|| anyhow!("village {name}"))?;
    RegionCode::from_u64(TOWN + 201 + i as u64).ok_or_else(|| anyhow!("region code"))
}

/// 09:00 China time on `d`.
fn morning(d: NaiveDate) -> DateTime<Utc> {
    domain::clock::china_instant(d, 9, 0)
}

/// What the demo's oversight holds, for the load summary.
#[derive(Debug, Default)]
pub struct Loaded {
    pub groups: usize,
    pub inspections: usize,
    pub rectifications: usize,
    pub closed: usize,
}

pub async fn load(db: &store::Db, now: DateTime<Utc>, today: NaiveDate) -> anyhow::Result<Loaded> {
    let mut out = Loaded::default();
    let system = Actor::system("演示数据");
    let town = RegionCode::from_u64(TOWN).ok_or_else(|| anyhow!("region code"))?;
    let (office, _) = db.user_by_username("town").await?.ok_or_else(|| anyhow!("the demo's town account"))?;
    let mut members: [Vec<String>; 2] = [Vec::new(), Vec::new()];
    for (i, (username, group)) in MEMBERS.iter().enumerate() {
        let user = match db.user_by_username(username).await? {
            Some((u, _)) => u,
            None => {
                let mut rng = synth::rng::Rng::new(0x5EED_0000 + i as u64);
                let name = synth::person_name(&mut rng, i % 2 == 0, 1978);
                web::auth::create_user(db, &system, now, username, &name, Role::Supervisor, town, DEMO_PASSWORD).await?
            }
        };
        members[*group].push(user.id.0.to_string());
    }
    let mut groups = Vec::new();
    for (g, (name, villages)) in GROUPS.iter().enumerate() {
        let input = GroupInput {
            name: (*name).into(),
            villages: villages.iter().map(|v| village(v).map(|c| c.to_string())).collect::<anyhow::Result<_>>()?,
            members: members[g].clone(),
        };
        let group = domain::supervision::create_group(db, &office.actor(), now, &office.scope(), &input)
            .await
            .map_err(|e| anyhow!("demo group: {e}"))?;
        groups.push(group);
        out.groups += 1;
    }
    // inspections from 04-06, each group two villages a week (Wednesdays and Fridays), until today
    let cal = domain::calendar::WorkCalendar::builtin();
    let mut day = NaiveDate::from_ymd_opt(2022, 4, 6).ok_or_else(|| anyhow!("date"))?;
    let mut turn = 0usize;
    let problems = [
        ("核查表缺户主签字", "村防贫监测信息员"),
        ("公示照片未归档", "村委会"),
        ("一户仅电话核实，未入户", "包片村干部"),
        ("收入信息与部门数据不一致，未核实", "村防贫监测信息员"),
    ];
    while day < today.min(NaiveDate::from_ymd_opt(2022, 5, 10).ok_or_else(|| anyhow!("date"))?) {
        if matches!(day.weekday(), chrono::Weekday::Wed | chrono::Weekday::Fri)
            && cal.is_workday(day, town).unwrap_or(false)
        {
            for (g, group) in groups.iter().enumerate() {
                let v = group.villages[turn % group.villages.len()];
                let (member, _) = db
                    .user_by_username(MEMBERS.iter().find(|m| m.1 == g).map(|m| m.0).unwrap_or("supervisor"))
                    .await?
                    .ok_or_else(|| anyhow!("supervisor account"))?;
                let frame = db.sampling_frame(&member.scope(), v).await?;
                let with_problem = (turn + g) % 3 != 2;
                let p = problems[(turn + g) % problems.len()];
                let due = domain::supervision::suggested_due(&cal, day, v).unwrap_or(day);
                let input = InspectionInput {
                    group: group.id.to_string(),
                    village: v.to_string(),
                    kind: ["实地督导", "暗访", "线上抽查"][turn % 3].into(),
                    on: day.to_string(),
                    checked: "抽查农户档案、入户核查表填写和签字、公示公告、帮扶措施落实情况".into(),
                    note: String::new(),
                    seed: (20_220_000 + (turn * 7 + g) as i64).to_string(),
                    sample_size: "5".into(),
                    problems: if with_problem && !frame.is_empty() {
                        vec![ProblemInput {
                            household_no: frame[(turn * 13 + g) % frame.len()].household_no.to_string(),
                            problem: p.0.into(),
                            owner: p.1.into(),
                            due_on: due.to_string(),
                        }]
                    } else {
                        Vec::new()
                    },
                };
                let i = domain::supervision::record_inspection(
                    db,
                    &cal,
                    &member.actor(),
                    member.id,
                    &member.scope(),
                    morning(day),
                    day,
                    &input,
                )
                .await
                .map_err(|e| anyhow!("demo inspection: {e}"))?;
                out.inspections += 1;
                out.rectifications += i.rectifications.len();
            }
            turn += 1;
        }
        day = day.succ_opt().ok_or_else(|| anyhow!("date"))?;
    }
    // most problems fixed within their time, by the town office with the village's evidence;
    // the latest ones still open
    let open = db
        .rectifications(
            &domain::Scope::system(),
            &RectificationFilter { status: Some(RectificationStatus::Open), ..Default::default() },
            1000,
        )
        .await?;
    for (k, r) in open.items.iter().enumerate() {
        let fixed_on = r.due_on - chrono::Days::new(1);
        if fixed_on >= today || k % 4 == 3 {
            continue;
        }
        domain::supervision::close_rectification(
            db,
            &office.actor(),
            &office.scope(),
            morning(fixed_on),
            fixed_on,
            r.id,
            r.version,
            "已整改：补签核查表并拍照存档，原件存村委档案室",
            &fixed_on.to_string(),
        )
        .await
        .map_err(|e| anyhow!("demo rectification: {e}"))?;
        out.closed += 1;
    }
    // by the 05-04 deadline the town and 大正村 have written the words of their summaries
    if today >= NaiveDate::from_ymd_opt(2022, 5, 4).ok_or_else(|| anyhow!("date"))? {
        let campaigns = domain::ports::CampaignStore::campaigns(db, &domain::Scope::system()).await?;
        let campaign = campaigns.first().map(|c| c.id);
        let words = [
            (
                "town",
                town,
                "全镇13个行政村按方案于3月26日启动集中排查，组织村干部、防贫监测信息员、网格员入户，两个督导组分片督导，业务解答组答复各村问题并上报柳东新区。",
            ),
            (
                "dazheng",
                village("大正村")?,
                "本村按户分组入户，逐户填写核查表并签字确认；对排查发现的应纳未纳户及时按程序申请纳入。",
            ),
        ];
        for (username, region, work_done) in words {
            let (u, _) = db.user_by_username(username).await?.ok_or_else(|| anyhow!("{username}"))?;
            let notes = domain::summary::SummaryNotes {
                work_done: work_done.into(),
                problems: "个别农户外出务工，只能电话核实，需在“回头看”中补入户。".into(),
                next_steps: "5月1日至10日开展“回头看”，逐户补齐入户核查和帮扶措施。".into(),
                ..Default::default()
            };
            domain::summary::save_notes(db, &u.actor(), &u.scope(), morning(today), campaign, region, &notes)
                .await
                .map_err(|e| anyhow!("demo summary: {e}"))?;
        }
    }
    Ok(out)
}
