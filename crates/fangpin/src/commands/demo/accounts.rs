//! The people of the simulated campaign: one village cadre and one screener per village (the
//! demo's `dazheng`, `dongtang` and `screener` are kept; the others are added), with generated
//! Chinese names, and the town, county and department accounts of [`super::DEMO_USERS`].

use chrono::{DateTime, Utc};
use domain::User;
use domain::account::{Actor, Role};
use domain::ports::UserStore;
use domain::region::{LUORONG_TOWN, LUORONG_VILLAGES, RegionCode};
use synth::rng::{Rng, seed_of};

use super::DEMO_PASSWORD;

/// The village cadres' user names: the villages' names in pinyin, in the seed's order (D1).
pub const CADRES: [&str; 13] = [
    "dazheng", "dongtang", "xiushui", "zhuche", "bantang", "gaoyan", "nanqing", "guoyuan", "niqiao", "pangu",
    "longling", "zhutong", "lianfeng",
];

const TAG_NAMES: u64 = 0x5EED_0A11;

/// One village and the two people who work its campaign.
#[derive(Debug, Clone)]
pub struct Village {
    pub code: RegionCode,
    pub name: &'static str,
    pub cadre: User,
    pub screener: User,
    /// The cadre's own name (the account is named after the village), for the steps' participants.
    pub cadre_person: String,
    /// The 网格员 who goes with the screener (named on the forms, no account).
    pub partner: String,
}

/// The screener of the `i`-th village (0-based): `screener` for 大正村, then `screener02` ….
pub fn screener_name(i: usize) -> String {
    if i == 0 { "screener".to_string() } else { format!("screener{:02}", i + 1) }
}

/// The thirteen villages with their cadre and screener, creating the accounts that do not exist.
pub async fn villages(db: &store::Db, seed: u64, at: DateTime<Utc>) -> anyhow::Result<Vec<Village>> {
    let actor = Actor::system("演示数据");
    let mut rng = Rng::new(seed_of(&[seed, TAG_NAMES]));
    let mut out = Vec::with_capacity(LUORONG_VILLAGES.len());
    for (i, name) in LUORONG_VILLAGES.iter().enumerate() {
        let code =
            RegionCode::from_u64(LUORONG_TOWN.1 + 201 + i as u64).ok_or_else(|| anyhow::anyhow!("region code"))?;
        let cadre_name = format!("{name}村干部");
        let cadre = account(db, &actor, at, CADRES[i], &cadre_name, Role::VillageCadre, code).await?;
        let male = rng.chance(0.6);
        let person = synth::person_name(&mut rng, male, 1985);
        let screener = account(db, &actor, at, &screener_name(i), &person, Role::Screener, code).await?;
        let male = rng.chance(0.5);
        let partner = synth::person_name(&mut rng, male, 1978);
        let male = rng.chance(0.7);
        let cadre_person = synth::person_name(&mut rng, male, 1975);
        out.push(Village { code, name, cadre, screener, cadre_person, partner });
    }
    Ok(out)
}

/// The account `username`, created with the demo password when it does not exist yet.
pub async fn account(
    db: &store::Db,
    actor: &Actor,
    at: DateTime<Utc>,
    username: &str,
    display: &str,
    role: Role,
    region: RegionCode,
) -> anyhow::Result<User> {
    if let Some((u, _)) = db.user_by_username(username).await? {
        return Ok(u);
    }
    Ok(web::auth::create_user(db, actor, at, username, display, role, region, DEMO_PASSWORD).await?)
}

/// An existing demo account (`town`, `county`, `dept`, `officer`).
pub async fn existing(db: &store::Db, username: &str) -> anyhow::Result<User> {
    db.user_by_username(username)
        .await?
        .map(|(u, _)| u)
        .ok_or_else(|| anyhow::anyhow!("demo account `{username}` is missing"))
}

/// The lines [`super::print_logins`] adds once the simulated campaign's accounts exist.
pub fn login_lines() -> [String; 2] {
    [
        format!(
            "  {}…{} 排查员（东塘村…连丰村各一名，生成的姓名；`screener` 仍为大正村）",
            screener_name(1),
            screener_name(12)
        ),
        format!("  {}…{}  村干部（秀水村…连丰村，用户名为村名拼音）", CADRES[2], CADRES[12]),
    ]
}
