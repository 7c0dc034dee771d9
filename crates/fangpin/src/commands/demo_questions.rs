//! The demo's 业务解答 (issue 7): a few questions of April 2022 as the villages would ask them during
//! the campaign, taken through the desk's service functions — one answered and published to the
//! FAQ, one escalated to 柳东新区 whose reply was recorded, and one still waiting (it ages on the
//! desk's list). Asked and answered by the demo accounts `dazheng`, `dongtang` (村干部) and `town`
//! (镇专项办, the desk).

use chrono::{DateTime, TimeZone, Utc};
use domain::account::User;
use domain::ports::UserStore;
use domain::question::{self, QuestionAction, QuestionInput};

/// 2022-04-dd hh:mm in China.
fn april(day: u32, hour: u32, minute: u32) -> anyhow::Result<DateTime<Utc>> {
    domain::clock::china()
        .with_ymd_and_hms(2022, 4, day, hour, minute, 0)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| anyhow::anyhow!("demo date 2022-04-{day}"))
}

async fn ask(db: &store::Db, who: &User, at: DateTime<Utc>, title: &str, body: &str) -> anyhow::Result<i64> {
    let input = QuestionInput { village: String::new(), title: title.into(), body: body.into() };
    Ok(question::ask(db, &who.actor(), who.id, &who.scope(), at, &input, &[]).await?.id)
}

async fn act(db: &store::Db, desk: &User, at: DateTime<Utc>, id: i64, action: QuestionAction) -> anyhow::Result<()> {
    let version = question::question(db, &desk.scope(), id).await?.version;
    question::act(db, &desk.actor(), &desk.scope(), at, id, version, &action, &[]).await?;
    Ok(())
}

/// Adds the demo's questions (dated 2022-04-06 … 04-20) and returns how many; 0 when the demo
/// accounts are not there. Run it once, after the demo's users exist.
pub async fn demo_questions(db: &store::Db) -> anyhow::Result<usize> {
    let (Some((dazheng, _)), Some((dongtang, _)), Some((desk, _))) = (
        db.user_by_username("dazheng").await?,
        db.user_by_username("dongtang").await?,
        db.user_by_username("town").await?,
    ) else {
        return Ok(0);
    };

    // answered by the desk the next day, then published to every village in a general wording
    let q1 = ask(
        db,
        &dazheng,
        april(6, 9, 30)?,
        "外出务工人员没有工资流水，工资性收入怎么填",
        "3组有户人在广东工厂打工，工资发现金，没有银行流水，只有厂里开的收入证明。附件5一般农户情况核查表的工资性收入栏怎么填？要不要别的材料？",
    )
    .await?;
    act(db, &desk, april(7, 11, 0)?, q1, QuestionAction::Answer {
        text: "以用工单位出具的收入证明为准，写明月工资和务工月数，按“月工资 × 务工月数”填入工资性收入；没有证明的，参照当地同工种月工资和农户自述的务工月数估算，并在备注中写明估算依据。收入证明拍照上传到广西防贫APP，原件随核查表存档。".into(),
    })
    .await?;
    act(
        db,
        &desk,
        april(8, 10, 0)?,
        q1,
        QuestionAction::Publish {
            title: "外出务工没有工资流水的，工资性收入如何核算".into(),
            question: "农户外出务工、工资发现金没有银行流水的，核查表的工资性收入怎么填？需要哪些材料？".into(),
            answer: String::new(),
        },
    )
    .await?;

    // the town could not decide: escalated to 柳东新区, whose reply was recorded four days later
    let q2 = ask(
        db,
        &dongtang,
        april(11, 15, 20)?,
        "已申请低保边缘家庭认定的户，还要走监测识别程序吗",
        "有户因病刚向民政申请了低保边缘家庭认定，排查发现人均纯收入也低于监测范围。两个程序是二选一，还是都要走？会不会重复享受？",
    )
    .await?;
    act(db, &desk, april(12, 9, 40)?, q2, QuestionAction::Escalate {
        note: "镇级对两项认定能否并行没有依据：已电话请示柳东新区乡村振兴局监测帮扶股，对方答复需与民政部门核实后回复。".into(),
    })
    .await?;
    act(db, &desk, april(15, 16, 30)?, q2, QuestionAction::RecordReply {
        text: "柳东新区乡村振兴局答复（2022-04-15 电话）：低保边缘家庭认定与防返贫监测对象识别是两项工作，符合监测条件的应按程序识别纳入监测，不因已申请低保边缘认定而不纳；帮扶措施按“缺什么补什么”安排，不重复发放同类救助。".into(),
    })
    .await?;

    // still waiting on the desk's list
    ask(
        db,
        &dazheng,
        april(20, 17, 5)?,
        "饮水安全四项指标由谁判定",
        "核查表里水质、水量、用水方便程度、供水保证率四项，是排查员现场判断，还是要等水利站出具意见？自来水入户但经常停水的怎么填？",
    )
    .await?;
    Ok(3)
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::account::{Actor, Role};
    use domain::ports::RegionStore;
    use domain::question::QuestionStatus;
    use domain::region::RegionCode;

    #[tokio::test]
    async fn the_demo_questions_go_through_the_desk() {
        let t = store::testing::TestDb::sqlite().await;
        let db = &t.db;
        let actor = Actor::system("测试");
        let now = april(1, 9, 0).unwrap();
        assert_eq!(demo_questions(db).await.unwrap(), 0, "no demo accounts yet");
        db.upsert_regions(&actor, now, &domain::region::luorong_regions()).await.unwrap();
        for (u, role, region) in [
            ("dazheng", Role::VillageCadre, 450_203_100_201),
            ("dongtang", Role::VillageCadre, 450_203_100_202),
            ("town", Role::TownOffice, 450_203_100_000),
        ] {
            let region = RegionCode::from_u64(region).unwrap();
            web::auth::create_user(db, &actor, now, u, u, role, region, "Fangpin@2022").await.unwrap();
        }
        assert_eq!(demo_questions(db).await.unwrap(), 3);
        let all = domain::ports::QuestionStore::questions(db, &domain::Scope::system(), &Default::default(), 10)
            .await
            .unwrap()
            .items;
        let statuses: Vec<(QuestionStatus, bool)> = all.iter().map(|q| (q.status, q.published)).collect();
        assert_eq!(
            statuses,
            [(QuestionStatus::Answered, true), (QuestionStatus::Answered, false), (QuestionStatus::Open, false)]
        );
        assert!(all[1].escalated_at.is_some() && all[1].answer_source == Some(question::AnswerSource::Liudong));
    }
}
