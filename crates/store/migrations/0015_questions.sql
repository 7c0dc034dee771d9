-- fangpin 0015: 业务解答 (issue 7): questions the villages ask the town's Q&A desk, each step with
-- who and when (asked, escalated to 柳东新区, answered or the reply recorded, published to the FAQ),
-- and their files (with the question or with the answer). The case attachments table cannot hold
-- them (its case_id is required), so the files have a table of the same shape here.

CREATE TABLE questions (
    id {{ID}},
    village_code BIGINT NOT NULL REFERENCES regions (code),
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    -- 1 待解答, 2 已上报柳东新区, 3 已解答
    status SMALLINT NOT NULL,
    asked_by_id BIGINT REFERENCES users (id),
    asked_by TEXT NOT NULL,
    asked_at {{TS}} NOT NULL,
    escalation_note TEXT NOT NULL DEFAULT '',
    escalated_by TEXT,
    escalated_at {{TS}},
    answer TEXT NOT NULL DEFAULT '',
    -- 1 镇业务解答组, 2 柳东新区
    answer_source SMALLINT,
    answered_by TEXT,
    answered_at {{TS}},
    published BOOLEAN NOT NULL DEFAULT FALSE,
    faq_title TEXT NOT NULL DEFAULT '',
    faq_question TEXT NOT NULL DEFAULT '',
    faq_answer TEXT NOT NULL DEFAULT '',
    published_by TEXT,
    published_at {{TS}},
    updated_at {{TS}} NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX questions_village ON questions (village_code, status, id);
CREATE INDEX questions_published ON questions (published, village_code);

CREATE TABLE question_files (
    id {{ID}},
    question_id BIGINT NOT NULL REFERENCES questions (id),
    -- 1 with the question, 2 with the answer
    part SMALLINT NOT NULL,
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    body {{BLOB}} NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at {{TS}} NOT NULL
);
CREATE INDEX question_files_question ON question_files (question_id, id);
