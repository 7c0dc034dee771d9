//! 业务解答 (issue 7): a village asks (a refused form keeps what was typed), another village does not
//! see it, the desk sees it ageing in working days and answers, publishes it to the FAQ, which
//! another village finds by searching; a second question is escalated to 柳东新区, ages, and is
//! answered by recording the reply; a stale version is refused; the API round trip; audited.

use axum::body::Body;
use axum::http::{StatusCode, header};
use domain::Scope;
use domain::ports::{AuditFilter, AuditStore, QuestionStore};
use domain::question::{AnswerSource, QuestionStatus};

use crate::assistance::at;
use crate::harness::*;

/// A multipart form as the question pages send it: the CSRF token in the query string.
async fn multipart(c: &mut Client<'_>, path: &str, fields: &[(&str, &str)], files: &[(&str, &[u8])]) -> Resp {
    let boundary = "----fangpinQuestionBoundary9Xk2";
    let mut body: Vec<u8> = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
        );
    }
    for (name, content) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let req = c
        .builder("POST", &format!("{path}?_csrf={}", c.csrf))
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
        .body(Body::from(body))
        .unwrap();
    c.send(req).await
}

async fn version(app: &TestApp, id: i64) -> String {
    app.db.question(&Scope::system(), id).await.unwrap().unwrap().version.to_string()
}

fn id_of(location: &str) -> i64 {
    location.rsplit('/').next().unwrap().parse().unwrap()
}

const TITLE: &str = "外出务工人员的工资性收入如何核算";
const BODY: &str = "韦国强户在广东务工，没有工资流水，只有老板写的证明，排查时收入怎么填？";

#[tokio::test]
async fn a_question_is_asked_answered_published_and_found_from_another_village() {
    for app in TestApp::both().await {
        // Monday 2022-04-18
        app.clock.set(at(4, 18));
        let mut cadre = app.login("dazheng").await;
        let nav = cadre.get("/questions").await;
        assert_eq!(nav.status, StatusCode::OK);
        assert!(
            nav.text().contains("href=\"/questions\">解答</a>") && nav.text().contains("还没有问题"),
            "{}",
            nav.text()
        );
        assert!(cadre.get("/questions/new").await.text().contains("以大正村的名义提问"));

        // refused: no title; what was typed stays, the message next to the field
        let r = multipart(&mut cadre, "/questions", &[("title", " "), ("body", BODY)], &[]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "[{}] {}", app.label, r.text());
        let text = r.text();
        assert!(text.contains(&format!(">{BODY}</textarea>")), "{text}");
        assert!(text.contains("id=\"e-title\" class=\"field-error\">请用一句话概括问题"), "{text}");
        assert!(app.db.questions(&Scope::system(), &Default::default(), 10).await.unwrap().items.is_empty());

        let r =
            multipart(&mut cadre, "/questions", &[("title", TITLE), ("body", BODY)], &[("form.jpg", b"JPEG")]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let id = id_of(&r.location());
        let page = cadre.get(&r.location()).await.text();
        assert!(page.contains(TITLE) && page.contains("待解答") && page.contains("form.jpg"), "{page}");
        assert!(!page.contains("提交解答"), "the village does not answer");
        let q = app.db.question(&Scope::system(), id).await.unwrap().unwrap();
        assert_eq!((q.asked_by.as_str(), q.status), ("dazheng", QuestionStatus::Open));
        let question_file = q.files[0].meta.id;

        // another village sees nothing of it
        let mut other = app.login("dongtang").await;
        assert!(!other.get("/questions?status=all").await.text().contains(TITLE));
        assert_eq!(other.get(&format!("/questions/{id}")).await.status, StatusCode::NOT_FOUND);
        assert_eq!(other.get(&format!("/questions/files/{question_file}")).await.status, StatusCode::NOT_FOUND);
        assert!(!other.get("/faq?q=务工").await.text().contains(TITLE));
        let r =
            multipart(&mut other, &format!("/questions/{id}/actions"), &[("action", "answer"), ("version", "1")], &[])
                .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);

        // the desk sees it, oldest first, ageing in working days: Wed 04-20 is 2, Thu 04-21 is 3
        app.clock.set(at(4, 20));
        let mut desk = app.login("town").await;
        let list = desk.get("/questions").await.text();
        assert!(list.contains(TITLE) && list.contains("2 个工作日") && !list.contains("超过2个工作日"), "{list}");
        // (sessions end after 30 idle minutes: everyone logs in again on a later day)
        app.clock.set(at(4, 21));
        let mut desk = app.login("town").await;
        let list = desk.get("/questions").await.text();
        assert!(
            list.contains("3 个工作日") && list.contains("超过2个工作日") && list.contains("class=\"overdue\""),
            "{list}"
        );
        // a leader follows the list, read-only
        let mut leader = app.login("leader").await;
        assert!(leader.get("/questions").await.text().contains(TITLE));
        assert!(!leader.get(&format!("/questions/{id}")).await.text().contains("提交解答"));
        // a department's staff reads the FAQ only
        let mut dept = app.login("yibao").await;
        let r = dept.get("/questions").await;
        assert_eq!((r.status, r.location().as_str()), (StatusCode::SEE_OTHER, "/faq"));
        assert_eq!(dept.get(&format!("/questions/{id}")).await.status, StatusCode::FORBIDDEN);

        // the desk answers: an empty answer is refused next to the field, then answered with a file
        let path = format!("/questions/{id}/actions");
        let v = version(&app, id).await;
        let r = multipart(&mut desk, &path, &[("action", "answer"), ("version", &v), ("text", " ")], &[]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.text().contains("请填写解答内容"), "{}", r.text());
        let answer = "按务工地证明和同工种月工资估算，在广西防贫APP的收入栏填写，并把证明拍照留档。";
        let r = multipart(
            &mut desk,
            &path,
            &[("action", "answer"), ("version", &v), ("text", answer)],
            &[("basis.pdf", b"%PDF-1.4")],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let q = app.db.question(&Scope::system(), id).await.unwrap().unwrap();
        assert_eq!(q.status, QuestionStatus::Answered);
        assert_eq!((q.answered_by.as_deref(), q.answer_source), (Some("town"), Some(AnswerSource::Desk)));
        let answer_file = q.files.iter().find(|f| f.meta.file_name == "basis.pdf").unwrap().meta.id;
        // the village sees the answer; it took 3 working days
        let mut cadre = app.login("dazheng").await;
        let page = cadre.get(&format!("/questions/{id}")).await.text();
        assert!(page.contains(answer) && page.contains("用时 3 个工作日") && page.contains("basis.pdf"), "{page}");

        // published in an edited wording (the question's text left empty: the original)
        let v = version(&app, id).await;
        let public = "外出务工收入如何核算";
        let r = multipart(
            &mut desk,
            &path,
            &[
                ("action", "publish"),
                ("version", &v),
                ("faq_title", public),
                ("faq_question", "农户外出务工、没有工资流水的，收入怎么核算？"),
                ("faq_answer", ""),
            ],
            &[],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());

        // another village finds it by searching (a substring; Latin letters in any case), opens
        // the answer's file but not the question's
        let mut other = app.login("dongtang").await;
        let found = other.get(&format!("/faq?q={}", urlencoding::encode("工资流水"))).await.text();
        assert!(found.contains(public) && found.contains("没有工资流水的") && found.contains(answer), "{found}");
        assert!(!found.contains("韦国强"), "the public wording replaced the question's text");
        assert!(!found.contains(&format!("href=\"/questions/{id}\"")), "no link to a question it cannot open");
        assert!(other.get("/faq?q=app").await.text().contains(public), "case-insensitive");
        let none = other.get(&format!("/faq?q={}", urlencoding::encode("危房改造"))).await.text();
        assert!(none.contains("没有找到含有“危房改造”的常见问题"), "{none}");
        let r = other.get(&format!("/questions/files/{answer_file}")).await;
        assert_eq!((r.status, r.bytes.as_slice()), (StatusCode::OK, b"%PDF-1.4".as_slice()));
        assert_eq!(other.get(&format!("/questions/files/{question_file}")).await.status, StatusCode::NOT_FOUND);
        // the department sees the FAQ too; unpublished, it is gone from it
        let mut dept = app.login("yibao").await;
        assert!(dept.get("/faq").await.text().contains(public));
        let v = version(&app, id).await;
        let r = multipart(&mut desk, &path, &[("action", "unpublish"), ("version", &v)], &[]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        assert!(!other.get("/faq").await.text().contains(public));
        assert!(other.get("/faq").await.text().contains("还没有发布的常见问题"));
        let v = version(&app, id).await;
        multipart(&mut desk, &path, &[("action", "publish"), ("version", &v), ("faq_title", public)], &[]).await;
        assert!(other.get("/faq").await.text().contains(public));

        // every step is audited, and so is each download
        let audit = app.db.audit_rows(&AuditFilter::default(), 500).await.unwrap();
        let notes: Vec<&str> =
            audit.iter().filter(|e| e.entry.entity == "question").map(|e| e.entry.note.as_str()).collect();
        assert!(notes.iter().any(|n| n.starts_with(&format!("提问 #{id}"))), "{notes:?}");
        assert!(notes.contains(&format!("解答问题 #{id}").as_str()), "{notes:?}");
        assert!(notes.iter().filter(|n| n.contains("发布到常见问题")).count() == 2, "{notes:?}");
        assert!(notes.contains(&format!("问题 #{id} 撤回发布").as_str()), "{notes:?}");
        assert!(notes.iter().any(|n| n.contains("下载问题") && n.contains("basis.pdf")), "{notes:?}");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn an_escalated_question_ages_until_the_reply_is_recorded_and_a_stale_version_is_refused() {
    for app in TestApp::both().await {
        // Thursday 2022-04-21
        app.clock.set(at(4, 21));
        let mut cadre = app.login("dazheng").await;
        let title = "低保边缘家庭能否同时纳入监测";
        let r = multipart(
            &mut cadre,
            "/questions",
            &[("title", title), ("body", "申请了低保边缘认定的户，还要走监测识别程序吗？")],
            &[],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "[{}] {}", app.label, r.text());
        let id = id_of(&r.location());
        let path = format!("/questions/{id}/actions");

        let mut desk = app.login("town").await;
        let v1 = version(&app, id).await;
        let r = multipart(&mut desk, &path, &[("action", "escalate"), ("version", &v1), ("note", "")], &[]).await;
        assert!(r.text().contains("请写明向柳东新区请示了什么"), "{}", r.text());
        let note = "已电话请示柳东新区乡村振兴局监测帮扶股，对方答应研究后书面答复";
        let r = multipart(&mut desk, &path, &[("action", "escalate"), ("version", &v1), ("note", note)], &[]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());

        // a stale version: the desk's second window still shows version 1
        let typed = "这是另一位同事在旧页面上写的说明";
        let r = multipart(&mut desk, &path, &[("action", "escalate"), ("version", &v1), ("note", typed)], &[]).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
        let text = r.text();
        assert!(text.contains(&format!("问题 #{id}已被他人修改（当前版本 2）")), "{text}");
        assert!(text.contains(&format!("（您填写的内容：{typed}）")), "what was typed is kept: {text}");
        // the page shows the question as it is now (escalated: the reply form, not the typed note's form)
        assert!(text.contains("登记柳东新区答复") && text.contains(note), "{text}");
        // answering directly is refused while it waits for 柳东新区
        let v2 = version(&app, id).await;
        let r = multipart(&mut desk, &path, &[("action", "answer"), ("version", &v2), ("text", "可以")], &[]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

        // it keeps ageing while escalated: Thu 04-21 → Tue 04-26 is 4 working days (Sunday 04-24 is
        // a make-up working day before May Day)
        app.clock.set(at(4, 26));
        let mut desk = app.login("town").await;
        let list = desk.get("/questions?status=escalated").await.text();
        assert!(list.contains(title) && list.contains("4 个工作日") && list.contains("超过2个工作日"), "{list}");
        assert!(desk.get("/questions").await.text().contains(title), "waiting includes escalated");

        // the reply comes and is recorded: answered, with both steps' who and when
        app.clock.set(at(4, 27));
        let mut desk = app.login("town").await;
        let reply = "柳东新区答复：低保边缘家庭符合监测条件的，应按程序识别纳入监测，两者不冲突。";
        let r =
            multipart(&mut desk, &path, &[("action", "record_reply"), ("version", &v2), ("reply", reply)], &[]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let q = app.db.question(&Scope::system(), id).await.unwrap().unwrap();
        assert_eq!((q.status, q.answer_source), (QuestionStatus::Answered, Some(AnswerSource::Liudong)));
        assert_eq!((q.escalated_by.as_deref(), q.answered_by.as_deref()), (Some("town"), Some("town")));
        assert!(q.escalated_at.unwrap() < q.answered_at.unwrap());
        let mut cadre = app.login("dazheng").await;
        let page = cadre.get(&format!("/questions/{id}")).await.text();
        assert!(page.contains("已解答") && page.contains(reply) && page.contains("（柳东新区）"), "{page}");
        assert!(page.contains("2022-04-21 10:00</time><strong>上报柳东新区</strong> · town"), "{page}");
        assert!(page.contains("2022-04-27 10:00</time><strong>登记柳东新区答复</strong> · town"), "{page}");
        assert!(page.contains(note) && page.contains("用时 5 个工作日"), "{page}");
        let list = desk.get("/questions?status=answered").await.text();
        assert!(list.contains(title) && !list.contains("超过2个工作日"), "{list}");

        let audit = app.db.audit_rows(&AuditFilter::default(), 500).await.unwrap();
        let notes: Vec<&str> =
            audit.iter().filter(|e| e.entry.entity == "question").map(|e| e.entry.note.as_str()).collect();
        assert!(notes.contains(&format!("问题 #{id} 上报柳东新区：{note}").as_str()), "{notes:?}");
        assert!(notes.contains(&format!("登记柳东新区对问题 #{id} 的答复").as_str()), "{notes:?}");
        assert_eq!(notes.len(), 3, "asked, escalated, reply recorded; nothing from the refused tries: {notes:?}");
        app.cleanup().await;
    }
}

#[tokio::test]
async fn the_api_asks_answers_and_searches_the_faq() {
    for app in TestApp::both().await {
        app.clock.set(at(4, 19));
        let mut cadre = app.api_login("dazheng").await;
        let r = cadre.json("POST", "/api/v1/questions", serde_json::json!({"title": "", "question": "x"})).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "[{}] {}", app.label, r.text());
        assert_eq!(r.json()["error"]["fields"][0]["field"], "title");
        let r = cadre
            .json(
                "POST",
                "/api/v1/questions",
                serde_json::json!({"title": "残疾人两项补贴算不算转移性收入", "question": "核查表里怎么填？"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        let q = r.json();
        let id = q["id"].as_i64().unwrap();
        assert_eq!((q["status"].as_str(), q["village_name"].as_str()), (Some("open"), Some("大正村")));
        assert_eq!(q["waited_working_days"], 0);

        app.clock.set(at(4, 22));
        let mut desk = app.api_login("town").await;
        let list = desk.get("/api/v1/questions?status=waiting").await.json();
        assert_eq!(list["total"], 1);
        assert_eq!(
            (list["items"][0]["waited_working_days"].as_i64(), list["items"][0]["aged"].as_bool()),
            (Some(3), Some(true))
        );
        let path = format!("/api/v1/questions/{id}/actions");
        let answer = "属于转移性收入，按实际领取金额填写。";
        let r = desk.json("POST", &path, serde_json::json!({"version": 1, "action": "answer", "text": answer})).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(r.json()["answer"]["source"], "desk");
        assert_eq!(r.json()["answer"]["by"], "town");
        // the same version again: 409
        let r = desk.json("POST", &path, serde_json::json!({"version": 1, "action": "publish"})).await;
        assert_eq!(r.status, StatusCode::CONFLICT);
        assert!(r.json()["error"]["message"].as_str().unwrap().contains("已被他人修改（当前版本 2）"));
        let r = desk
            .json("POST", &path, serde_json::json!({"version": 2, "action": "publish", "title": "两项补贴的收入类别"}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(r.json()["faq"]["title"], "两项补贴的收入类别");
        // a village cannot act
        let mut cadre = app.api_login("dazheng").await;
        let r = cadre.json("POST", &path, serde_json::json!({"version": 3, "action": "unpublish"})).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);

        // another village finds it in the FAQ, and cannot open the question itself
        let mut other = app.api_login("dongtang").await;
        let faq = other.get(&format!("/api/v1/faq?q={}", urlencoding::encode("两项补贴"))).await.json();
        assert_eq!(faq.as_array().unwrap().len(), 1, "{faq}");
        assert_eq!((faq[0]["title"].as_str(), faq[0]["answer"].as_str()), (Some("两项补贴的收入类别"), Some(answer)));
        assert_eq!(
            other.get(&format!("/api/v1/faq?q={}", urlencoding::encode("危房"))).await.json(),
            serde_json::json!([])
        );
        // LIKE's wildcards are plain text here
        assert_eq!(other.get("/api/v1/faq?q=%25").await.json(), serde_json::json!([]));
        assert_eq!(other.get("/api/v1/faq?q=_").await.json(), serde_json::json!([]));
        assert_eq!(other.get("/api/v1/faq").await.json().as_array().unwrap().len(), 1);
        assert_eq!(other.get(&format!("/api/v1/questions/{id}")).await.status, StatusCode::NOT_FOUND);
        assert_eq!(other.get("/api/v1/questions?status=all").await.json()["total"], 0);
        assert_eq!(other.get("/api/v1/questions?status=later").await.status, StatusCode::UNPROCESSABLE_ENTITY);
        app.cleanup().await;
    }
}
